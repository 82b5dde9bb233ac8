"""Replay from the log alone: decisions reproduce, a changed rule is caught, no network used."""

import dataclasses
import io
import re
import shutil
import socket
import time

import pytest

from agentdeck.cli.demo import demo_events, wait_for_outcomes
from agentdeck.cli.replay import load_run
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.kafka import Topic
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import limits
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.backtest import backtest
from agentdeck.policy_checker.main import DEMO_BUNDLE
from agentdeck.policy_checker.replay import verify_decisions
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer, Verifier


@pytest.fixture(scope="module")
def recorded(platform):
    events = demo_events("acme", "replay")
    for _goal, event in events:
        publish_goal(platform.info, event)
    ids = {goal.key: event.envelope.run_id for goal, event in events}
    wait_for_outcomes(platform.stack.store, list(ids.values()), timeout_s=90)
    return {key: load_run(platform.stack.store, run, platform.codec()) for key, run in ids.items()}


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


def _lowered_bundle(tmp_path):
    """The demo bundle with the $50 auto-approve limit lowered to $20."""
    candidate = tmp_path / "policy"
    shutil.copytree(DEMO_BUNDLE, candidate)
    rules = candidate / "policies" / "refunds.cedar"
    text = rules.read_text()
    lowered = re.sub(r"amount_cents (<=|>) 5000\b", r"amount_cents \1 2000", text)
    assert "amount_cents <= 2000" in lowered
    assert "amount_cents > 2000 " in lowered
    assert "amount_cents > 50000" in lowered, "the $500 limit stays"
    rules.write_text(lowered)
    return candidate


def test_lowering_the_auto_approve_limit_to_20_dollars_moves_exactly_the_30_dollar_refund(
    recorded, tmp_path
):
    candidate = _lowered_bundle(tmp_path)
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
    unchanged = backtest(events, load_bundle(DEMO_BUNDLE), ToolCatalog(demo_registry()))
    assert unchanged.changes == [], "the active bundle agrees with its own record"


# --- replay straight from the topics ------------------------------------------------------


def _tree_text(run_id, events):
    from rich.console import Console

    from agentdeck.cli.views import run_tree

    console = Console(record=True, width=200, file=io.StringIO())
    console.print(run_tree(run_id, events))
    return console.export_text()


def test_replay_from_kafka_gives_the_archive_s_events_and_tree_and_skips_bad_messages(
    platform, recorded
):
    from confluent_kafka import Producer

    from agentdeck.cli.replay import read_run_from_kafka

    topic = f"{platform.info.topic_prefix}.tool-results"
    producer = Producer({"bootstrap.servers": platform.info.bootstrap_servers})
    producer.produce(topic, value=b"\xc3\x01 not an event", key=b"junk")
    producer.produce(topic, value=b"plain text", key=b"junk")
    assert producer.flush(10) == 0
    kafka = KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )
    for key, archived in recorded.items():
        run_id = archived[0].envelope.run_id
        events, read = read_run_from_kafka(kafka, run_id, codec=platform.codec())
        assert read.skipped == 2, key
        assert [e.envelope.event_id for e in events] == [e.envelope.event_id for e in archived]
        assert events == archived
        assert _tree_text(run_id, events) == _tree_text(run_id, archived)
        assert len(read.topics) == len(Topic)


def _cli(capsys, *args):
    from agentdeck.cli.app import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_replay_command_reads_kafka_and_verifies_both_services_decisions(
    recorded, cli_env, capsys
):
    run_id = recorded["approval"][0].envelope.run_id
    code, archive_out, err = _cli(capsys, "replay", run_id, "--verify")
    assert code == 0, err
    assert "planner decisions reproduce the recorded run" in archive_out
    calls = sum(isinstance(e, m.ToolCallRequested) for e in recorded["approval"])
    assert f"{calls} policy decisions reproduce the recorded run, signatures valid" in archive_out
    code, kafka_out, err = _cli(capsys, "replay", run_id, "--from-kafka", "--verify")
    assert code == 0, err
    assert f"of run {run_id}" in kafka_out
    assert kafka_out.split("\n", 1)[1] == archive_out  # after the line saying what was read


def test_verify_with_another_bundle_names_the_first_decision_it_did_not_make(
    recorded, cli_env, capsys, tmp_path
):
    run_id = recorded["auto"][0].envelope.run_id
    candidate = _lowered_bundle(tmp_path)
    code, _out, err = _cli(capsys, "replay", run_id, "--verify", "--bundle", str(candidate))
    assert code == 1
    first = next(e for e in recorded["auto"] if isinstance(e, m.PolicyDecided))
    assert err.startswith(
        f"agentdeck: error: policy replay diverged: PolicyDecided {first.envelope.event_id}"
    )
    assert "which is not among the bundles given" in err
    assert err.count("\n") == 1


# --- the policy-checker's decisions, re-decided -----------------------------------------


def _verify(events, platform, engines=None, verifier="policy"):
    engines = engines or [load_bundle(DEMO_BUNDLE)]
    if verifier == "policy":
        verifier = Verifier({"policy-1": platform.keys.policy_public()})
    return verify_decisions(
        events,
        engines={e.bundle.digest: e for e in engines},
        catalog=ToolCatalog(demo_registry()),
        verifier=verifier,
        registry=default_codec().registry,
    )


@pytest.mark.parametrize("key", ["auto", "denied", "llm", "approval"])
def test_every_recorded_policy_decision_reproduces_and_its_signature_verifies(
    platform, recorded, key, no_network
):
    checked = _verify(recorded[key], platform)
    assert checked.divergence is None, checked.divergence.describe()
    assert checked.signatures_checked
    assert checked.unconfirmed == []
    requests = [e for e in recorded[key] if isinstance(e, m.ToolCallRequested)]
    assert checked.decisions == len(requests) >= 1


def _altered(events, decision, **changes):
    return [decision.model_copy(update=changes) if e is decision else e for e in events]


def _decision(events, outcome):
    return next(e for e in events if isinstance(e, m.PolicyDecided) and e.outcome is outcome)


def test_a_decision_altered_without_the_policy_key_fails_its_signature(platform, recorded):
    events = recorded["approval"]
    parked = _decision(events, m.DecisionOutcome.REQUIRE_APPROVAL)
    forged = _altered(events, parked, outcome=m.DecisionOutcome.ALLOW)

    checked = _verify(forged, platform)

    assert checked.divergence is not None
    assert checked.divergence.recorded.envelope.event_id == parked.envelope.event_id
    assert "signature does not verify with the policy key 'policy-1'" in (
        checked.divergence.describe()
    )


def test_a_decision_re_signed_with_the_real_key_is_still_caught_by_re_deciding(platform, recorded):
    from agentdeck.policy_checker.core.emit import signed

    events = recorded["approval"]
    parked = _decision(events, m.DecisionOutcome.REQUIRE_APPROVAL)
    insider = Signer("policy-1", platform.keys.policy_private)
    changed = signed(
        parked.model_copy(update={"outcome": m.DecisionOutcome.ALLOW, "reason": "ok"}), insider
    )
    forged = [changed if e is parked else e for e in events]

    checked = _verify(forged, platform)

    assert checked.divergence is not None
    described = checked.divergence.describe()
    assert described.startswith(f"PolicyDecided {parked.envelope.event_id} for ToolCallRequested")
    assert "outcome: recorded 'ALLOW', replay decides 'REQUIRE_APPROVAL'" in described
    assert "reason: recorded 'ok'" in described


def test_a_decision_claiming_more_run_spend_than_the_log_shows_is_caught(platform, recorded):
    from agentdeck.policy_checker.core.emit import signed

    events = recorded["auto"]
    last = [e for e in events if isinstance(e, m.PolicyDecided)][-1]
    logged = sum(
        e.cost_micros
        for e in events
        if isinstance(e, m.ToolCallCompleted)
        and e.envelope.occurred_at <= last.envelope.occurred_at
    )
    assert last.run_spent_micros is not None
    insider = Signer("policy-1", platform.keys.policy_private)
    claimed = signed(last.model_copy(update={"run_spent_micros": logged + 1}), insider)

    checked = _verify([claimed if e is last else e for e in events], platform)

    assert checked.divergence is not None
    assert checked.divergence.recorded.envelope.event_id == last.envelope.event_id
    assert f"it read a run spend of {logged + 1} micro-USD" in checked.divergence.describe()


class _SameDigest:
    """A changed bundle passed off under the digest of the one that decided."""

    def __init__(self, engine, digest):
        self._engine = engine
        self.bundle = dataclasses.replace(engine.bundle, digest=digest)

    def authorize(self, requests, entities):
        return self._engine.authorize(requests, entities)


def test_a_changed_rule_under_the_recorded_digest_points_at_the_first_decision_it_changes(
    platform, recorded, tmp_path
):
    events = recorded["auto"]
    first = next(e for e in events if isinstance(e, m.PolicyDecided))
    swapped = _SameDigest(load_bundle(_lowered_bundle(tmp_path)), first.bundle_digest)

    checked = _verify(events, platform, engines=[swapped])

    assert checked.divergence is not None
    refund = next(e for e in events if isinstance(e, m.PolicyDecided) and e.tool == "create_refund")
    assert checked.divergence.recorded.envelope.event_id == refund.envelope.event_id
    described = checked.divergence.describe()
    assert "outcome: recorded 'ALLOW', replay decides 'REQUIRE_APPROVAL'" in described
    assert "refund-needs-approval" in described


def test_without_a_public_key_decisions_are_re_decided_but_signatures_not_checked(
    platform, recorded
):
    checked = _verify(recorded["denied"], platform, verifier=None)
    assert checked.divergence is None
    assert not checked.signatures_checked


def test_a_deny_that_rests_on_a_kill_switch_is_reported_unconfirmed_not_divergent(platform):
    from datetime import UTC, datetime

    from agentdeck.contracts import deterministic_id, envelope_for
    from agentdeck.embedded_stack.goals import CLI, goal_event
    from agentdeck.kafka import EventProducer
    from agentdeck.signing import Signer

    kafka = KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )
    tenant = "halted-replay"
    switch = m.KillSwitchSet(
        envelope=envelope_for(
            m.KillSwitchSet,
            event_id=deterministic_id("kill", tenant),
            tenant=tenant,
            producer=CLI,
            occurred_at=datetime.now(UTC),
        ),
        scope=m.KillSwitchScope.TENANT,
        target=tenant,
        engaged=True,
        set_by="ops",
        reason="incident 7",
    )
    operator = Signer("operator-1", platform.keys.operator_private)
    producer = EventProducer(kafka, default_codec(), client_id="ops-replay", signer=operator)
    producer.send(switch)
    producer.flush()
    time.sleep(1.0)
    goal = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": "1042", "amount_cents": 1000, "reason": "late"},
        tenant=tenant,
        run_id="replay-killed",
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, goal)
    wait_for_outcomes(platform.stack.store, ["replay-killed"], timeout_s=60)
    events = load_run(platform.stack.store, "replay-killed", platform.codec())
    denied = next(e for e in events if isinstance(e, m.PolicyDecided))
    assert denied.outcome is m.DecisionOutcome.DENY
    assert any("kill-switch" in p for p in denied.matched_policies), denied.matched_policies

    checked = _verify(events, platform)

    assert checked.divergence is None
    assert len(checked.unconfirmed) == 1
    assert denied.envelope.event_id in checked.unconfirmed[0]
    assert "rests on state the log does not hold" in checked.unconfirmed[0]
    assert _replay(events).divergence is None
