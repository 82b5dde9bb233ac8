"""Replay from the log alone: decisions reproduce, a changed rule is caught, no network used."""

import re
import socket
from pathlib import Path

import pytest

from agentdeck.cli.demo import demo_events, wait_for_outcomes
from agentdeck.cli.replay import load_run
from agentdeck.cli.submit import publish_goal
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import limits
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run


@pytest.fixture(scope="module")
def recorded(platform):
    events = demo_events("acme", "replay")
    for _goal, event in events:
        publish_goal(platform.info, event)
    ids = {goal.key: event.envelope.run_id for goal, event in events}
    wait_for_outcomes(platform.stack.store, list(ids.values()), timeout_s=90)
    return {key: load_run(platform.stack.store, run) for key, run in ids.items()}


def _replay(events):
    return replay_run(events, playbooks=bundled_playbooks(), tools=tool_infos(demo_registry()))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("replay tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("key", ["auto", "denied", "llm", "approval"])
def test_a_recorded_run_replays_clean_without_network_model_or_tools(recorded, key, no_network):
    result = _replay(recorded[key])
    assert result.divergence is None, result.divergence and result.divergence.describe()
    assert result.decisions >= 3
    assert result.state is not None


def test_a_changed_planner_rule_points_at_the_first_divergent_decision(recorded, monkeypatch):
    real = limits.limit_breached

    def stricter(state, **kwargs):
        if state.steps_run >= 1:  # the new rule: one step per run
            return real(
                state.model_copy(
                    update={"limits": state.limits.model_copy(update={"max_steps": 1})}
                ),
                **kwargs,
            )
        return real(state, **kwargs)

    monkeypatch.setattr("agentdeck.planner.core.schedule.limit_breached", stricter)
    result = _replay(recorded["auto"])
    assert result.divergence is not None
    described = result.divergence.describe()
    assert "ToolCallCompleted" in described, described
    assert "step lookup" in described
    assert "RunFailed" in described


def test_lowering_the_auto_approve_limit_to_20_dollars_moves_exactly_the_30_dollar_refund(
    recorded, tmp_path
):
    import shutil

    from agentdeck.policy_checker.adapters.catalog import ToolCatalog
    from agentdeck.policy_checker.adapters.cedar import load_bundle
    from agentdeck.policy_checker.backtest import backtest

    demo = Path(__file__).parents[2] / "services" / "agentdeck" / "demo" / "policy"
    candidate = tmp_path / "policy"
    shutil.copytree(demo, candidate)
    rules = candidate / "policies" / "refunds.cedar"
    text = rules.read_text()
    lowered = re.sub(r"amount_cents (<=|>) 5000\b", r"amount_cents \1 2000", text)
    assert "amount_cents <= 2000" in lowered
    assert "amount_cents > 2000 " in lowered
    assert "amount_cents > 50000" in lowered, "the $500 limit stays"
    rules.write_text(lowered)
    events = [e for run in recorded.values() for e in run]

    report = backtest(events, load_bundle(candidate), ToolCatalog(demo_registry()))

    assert [(c.run_id, c.tool, c.recorded, c.candidate) for c in report.changes] == [
        (recorded["auto"][0].envelope.run_id, "create_refund", "ALLOW", "REQUIRE_APPROVAL")
    ]
    summary = report.summary()
    assert summary["now_needing_approval"] == 1
    assert summary["approval_load_change"] == 1
    assert summary["tools"] == ["create_refund"]
    assert report.calls >= 10
    unchanged = backtest(events, load_bundle(demo), ToolCatalog(demo_registry()))
    assert unchanged.changes == [], "the active bundle agrees with its own record"
