"""A model endpoint down stalls nothing but its own runs, which fail clearly and replay clean.

Real broker, PostgreSQL, Redis and all five services; the model endpoint is
the one fake, scripted to hang or fail.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from agentdeck.cli.demo import demo_events, wait_for_outcomes
from agentdeck.cli.replay import load_run
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.telemetry.core.runs import RunStatus
from testkit.model import Reply, ScriptedEndpoint

from .conftest import Platform, running_platform

ATTEMPT_TIMEOUT_S = 8.0
"""How long the planner waits for one model call."""

PROMPTLY_S = 6.0
"""A playbook run completes within this of its goal, though the model hangs: less than one
model call's timeout, so it cannot have waited behind a call to the model."""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def outage(bootstrap_servers, pg_admin, tmp_path_factory, endpoint) -> Iterator[Platform]:
    env = {
        "AGENTDECK_PLANNER_LLM_TIMEOUT_S": str(ATTEMPT_TIMEOUT_S),
        "AGENTDECK_PLANNER_LLM_MAX_ATTEMPTS": "2",
        "AGENTDECK_PLANNER_LLM_BACKOFF_S": "0.1",
        "AGENTDECK_PLANNER_LLM_BREAKER_FAILURES": "100",
    }
    root = tmp_path_factory.mktemp("outage")
    with running_platform(
        bootstrap_servers, pg_admin, root, env, model_url=endpoint.base_url
    ) as up:
        yield up


def _goals(*keys: str) -> dict[str, m.GoalSubmitted]:
    suffix = uuid.uuid4().hex[:8]
    return {goal.key: event for goal, event in demo_events("acme", suffix) if goal.key in keys}


def _replays_clean(events: list[m.Event]) -> None:
    result = replay_run(events, playbooks=bundled_playbooks(), tools=tool_infos(demo_registry()))
    assert result.divergence is None, result.divergence.describe()


@pytest.mark.latency
def test_a_hanging_model_delays_no_playbook_run_and_its_own_run_fails_clearly(outage, endpoint):
    endpoint.hang()
    asked = len(endpoint.asked)
    goals = _goals("llm", "auto")
    llm_run, playbook_run = (goals[k].envelope.run_id for k in ("llm", "auto"))
    publish_goal(outage.info, goals["llm"])
    deadline = time.monotonic() + 30
    while len(endpoint.asked) == asked:  # the planner is asking the model, which hangs
        assert time.monotonic() < deadline, "the model was never asked"
        time.sleep(0.05)

    submitted = time.monotonic()
    publish_goal(outage.info, goals["auto"])
    outcome = wait_for_outcomes(outage.stack.store, [playbook_run], timeout_s=PROMPTLY_S)
    took = time.monotonic() - submitted

    record = outcome.get(playbook_run)
    assert record is not None, f"the playbook run had not started {took:.1f}s after its goal"
    assert record.status is RunStatus.COMPLETED, f"{record.status} {took:.1f}s after its goal"
    assert took < PROMPTLY_S
    store, codec = outage.stack.store, outage.codec()
    ended = wait_for_outcomes(store, [llm_run], timeout_s=4 * ATTEMPT_TIMEOUT_S)
    assert ended[llm_run].status is RunStatus.FAILED
    events = load_run(store, llm_run, codec)
    failed = next(e for e in events if isinstance(e, m.RunFailed))
    assert failed.failure.code == "model_retries_exhausted"
    assert "model_timeout" in failed.failure.message
    attempts = [e for e in events if isinstance(e, m.LlmCallFailed)]
    assert [(a.attempt, a.failure.code) for a in attempts] == [
        (1, "model_timeout"),
        (2, "model_timeout"),
    ]
    _replays_clean(events)


def test_a_run_whose_model_failed_once_completes_and_replays_clean(outage, endpoint):
    endpoint.script, endpoint.then = [Reply(503)], Reply()
    run = _goals("llm")["llm"]
    publish_goal(outage.info, run)
    run_id = run.envelope.run_id
    ended = wait_for_outcomes(outage.stack.store, [run_id], timeout_s=60)
    assert ended[run_id].status is RunStatus.COMPLETED
    events = load_run(outage.stack.store, run_id, outage.codec())
    kinds = [type(e).__name__ for e in events if isinstance(e, m.LlmCallFailed | m.LlmCallRecorded)]
    assert kinds == ["LlmCallFailed", "LlmCallRecorded"]
    _replays_clean(events)
