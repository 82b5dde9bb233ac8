"""Costs that add up: model calls charged to the tenant budget tool calls hold against.

The planner prices each model call from its own price table (here: $1.00 for a
fresh answer's 20 completion tokens, prompt tokens free, 100 USD per million
tokens from a cache); the policy-checker charges it to the tenant's budget, so
a tool call the model's spend leaves no room for is denied for budget, and the
budget's spend is the runs' tool spend plus their model spend.
"""

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from agentdeck.cli.app import app
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import Event, default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.adapters.journal import micros_of
from agentdeck.policy_checker.main import DEMO_BUNDLE
from agentdeck.policy_checker.replay import verify_decisions
from agentdeck.signing import Verifier
from agentdeck.telemetry.core.runs import RunStatus
from testkit.cli import point_cli_at
from testkit.kafka import wait_until

from .conftest import Platform, running_platform

FRESH_MICROS = 1_000_000  # 20 completion tokens at 50,000 USD per million
CACHED_PER_TOKEN = 100  # micro-USD: 100 USD per million tokens
PRICES = {"*": {"prompt": 0, "completion": 50_000, "cached": CACHED_PER_TOKEN}}
BUDGETS = {"frugal": 500_000, "thrifty": 100_000_000}
DENIED_FOR_BUDGET = {"budget-exhausted", core.BUDGET}


@pytest.fixture(scope="module")
def platform(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The e2e platform with the prices and tenant budgets above."""
    env = {
        "AGENTDECK_PLANNER_MODEL_PRICES": json.dumps(PRICES),
        "AGENTDECK_POLICY_TENANT_BUDGETS_MICROS": json.dumps(BUDGETS),
    }
    root = Path(tmp_path_factory.mktemp("e2e-costs"))
    with running_platform(bootstrap_servers, pg_admin, root, env) as up:
        yield up


def _ask(platform: Platform, tenant: str, goal: str) -> str:
    run_id = f"costs-{uuid.uuid4().hex[:10]}"
    event = goal_event(
        goal=goal,
        playbook=None,
        inputs={},
        tenant=tenant,
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    outcome = wait_for_outcomes(platform.stack.store, [run_id], timeout_s=90)[run_id]
    assert outcome.status is RunStatus.COMPLETED, outcome
    return run_id


def _events(platform: Platform, run_id: str) -> list[Event]:
    codec = platform.codec()
    with platform.stack.store.transaction(read_only=True) as conn:
        return [
            codec.decode(a.payload) for a in platform.stack.store.archive.read_run(conn, run_id)
        ]


def _spend(events: list[Event]) -> tuple[int, int]:
    """Tool spend and model spend of ``events``."""
    tools = sum(e.cost_micros for e in events if isinstance(e, m.ToolCallCompleted))
    models = sum(e.cost_micros for e in events if isinstance(e, m.LlmCallRecorded))
    return tools, models


def _spent(platform: Platform, tenant: str) -> int:
    with platform.stack.store.transaction(read_only=True) as conn:
        budget = BudgetsRepository().get(conn, core.tenant_scope(tenant))
    assert budget is not None
    return micros_of(budget.spent)


def _settles_at(platform: Platform, tenant: str, micros: int) -> None:
    with contextlib.suppress(AssertionError):  # the charges land a moment after the run ends
        wait_until(lambda: _spent(platform, tenant) == micros, timeout_s=20)
    assert _spent(platform, tenant) == micros, "the budget's spend is tool plus model spend"


def _replays_clean(platform: Platform, events: list[Event]) -> None:
    """Every decision of the run re-decided from the log: the spend it read included."""
    replayed = verify_decisions(
        events,
        engines={e.bundle.digest: e for e in [load_bundle(DEMO_BUNDLE)]},
        catalog=ToolCatalog(demo_registry()),
        verifier=Verifier({"policy-1": platform.keys.policy_public()}),
        registry=default_codec().registry,
    )
    assert replayed.divergence is None, replayed.divergence.describe()
    assert replayed.decisions == 2


def _decision(events: list[Event], tool: str) -> m.PolicyDecided:
    requests = {e.envelope.event_id: e.tool for e in events if isinstance(e, m.ToolCallRequested)}
    found = [e for e in events if isinstance(e, m.PolicyDecided) and requests[e.request_id] == tool]
    assert len(found) == 1, found
    return found[0]


def test_a_run_whose_model_spent_the_tenant_budget_has_its_next_tool_call_denied(
    platform: Platform,
) -> None:
    run = _ask(platform, "frugal", f"Tell the customer where order 1042 is ({uuid.uuid4()})")
    events = _events(platform, run)
    calls = [e for e in events if isinstance(e, m.LlmCallRecorded)]
    assert [c.cost_micros for c in calls] == [FRESH_MICROS] * 3
    assert not any(c.cached for c in calls)
    # The first answer spent twice the budget; the call it asked for may be decided
    # before that charge lands, every later one is decided after it.
    drafted = _decision(events, "draft_email")
    assert drafted.outcome is m.DecisionOutcome.DENY
    assert DENIED_FOR_BUDGET & set(drafted.matched_policies), drafted.matched_policies
    assert drafted.run_spent_micros is not None
    assert drafted.run_spent_micros >= FRESH_MICROS, "the run's spend counts its model calls"
    tools, models = _spend(events)
    _settles_at(platform, "frugal", tools + models)
    _replays_clean(platform, events)


def test_an_answer_from_the_response_cache_is_charged_at_the_cached_price(
    platform: Platform,
) -> None:
    goal = f"Tell the customer where order 1042 is ({uuid.uuid4()})"
    first = _events(platform, _ask(platform, "thrifty", goal))
    again = _events(platform, _ask(platform, "thrifty", goal))
    fresh = next(e for e in first if isinstance(e, m.LlmCallRecorded))
    hit = next(e for e in again if isinstance(e, m.LlmCallRecorded))
    assert (fresh.cached, hit.cached) == (False, True)
    assert fresh.cost_micros == FRESH_MICROS
    assert hit.cost_micros == (hit.prompt_tokens + hit.completion_tokens) * CACHED_PER_TOKEN
    assert hit.cost_micros < FRESH_MICROS
    spent = [sum(_spend(run)) for run in (first, again)]
    _settles_at(platform, "thrifty", sum(spent))
    emailed = _decision(first, "draft_email")
    assert emailed.outcome is m.DecisionOutcome.ALLOW
    assert emailed.run_spent_micros is not None
    assert emailed.run_spent_micros >= FRESH_MICROS, "the run's spend counts its model calls"
    _replays_clean(platform, first)


def test_metrics_shows_model_spend_and_tool_spend_apart(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ask(platform, "thrifty", f"Tell the customer where order 1042 is ({uuid.uuid4()})")
    point_cli_at(platform.info, monkeypatch)
    shown = CliRunner().invoke(app, ["metrics"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    rows = _rows(shown.output)
    models = next(r for r in rows if r[:2] == ["models", "total"])
    tools = next(r for r in rows if r[:2] == ["tools", "total"])
    assert _usd(models[2]) >= FRESH_MICROS
    assert 0 < _usd(tools[2]) < FRESH_MICROS


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines()]


def _usd(cell: Any) -> int:
    return round(float(str(cell).lstrip("$")) * 1_000_000)
