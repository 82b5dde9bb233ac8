"""Golden recorded runs replay with ``--verify`` clean, including runs from older schema versions.

The files in ``tests/golden/runs`` are real demo runs as archived (regenerate
with ``python tests/golden/runs/regenerate.py``); a change to the planner, the
policy-checker, a schema or the codec that alters what a recorded run replays
to fails here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from agentdeck.cli.replay import log_order
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.verify import verify_run
from agentdeck.cli.views import run_tree
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.policy_checker.adapters.cedar import load_bundle
from testkit import golden_runs as golden

FILES = sorted(golden.RUNS.glob("*.jsonl"))
STACK = StackInfo(bootstrap_servers="", topic_prefix="", database_url="", data_dir="/nonexistent")


def _events(path: Path) -> list[m.Event]:
    return log_order(golden.read(path).events())


def _verified(path: Path) -> str:
    run = golden.read(path)
    out = io.StringIO()
    verify_run(
        _events(path),
        STACK,
        bundles=[run.bundle],
        keys=[f"{k}={v}" for k, v in run.policy_keys.items()],
        console=Console(file=out, width=200),
    )
    return out.getvalue()


def _tree(path: Path) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(run_tree(golden.read(path).run_id, _events(path)))
    return console.export_text()


OUTCOMES = ("refund-auto", "refund-approved", "refund-denied", "order-status-llm")


def test_there_are_golden_runs_of_every_demo_outcome_under_each_event_model_and_schema():
    names = {p.stem for p in FILES}
    assert set(OUTCOMES) <= names  # the first event model: seven events a step
    assert {f"{name}.events-v3" for name in OUTCOMES} <= names  # three events a step
    assert "refund-approved.policy-decided-v1" in names


def test_a_run_recorded_under_the_first_event_model_replays_as_its_v3_recording():
    first = golden.RUNS / "refund-auto.jsonl"
    third = golden.RUNS / "refund-auto.events-v3.jsonl"
    retired = (m.StepScheduled, m.BudgetReserved, m.ToolCallStarted, m.BudgetSettled)
    assert any(isinstance(e, retired) for e in _events(first))
    assert not any(isinstance(e, retired) for e in _events(third))
    assert golden.read(first).run_id == golden.read(third).run_id
    tools = tool_infos(demo_registry())
    replayed = [
        replay_run(_events(p), playbooks=bundled_playbooks(), tools=tools) for p in (first, third)
    ]
    assert [r.divergence for r in replayed] == [None, None]
    assert replayed[0].decisions == replayed[1].decisions


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_golden_run_replays_with_verify_clean(path):
    run = golden.read(path)
    assert load_bundle(run.bundle).bundle.digest.startswith(run.bundle.name)
    events = _events(path)
    assert {e.envelope.run_id for e in events} == {run.run_id}
    assert any(isinstance(e, m.RunCompleted | m.RunFailed) for e in events)

    report = _verified(path)

    requests = sum(isinstance(e, m.ToolCallRequested) for e in events)
    assert "planner decisions reproduce the recorded run" in report
    assert (
        f"verified: {requests} policy decisions reproduce the recorded run, signatures valid"
        in (report)
    )
    assert "note:" not in report


def test_the_v1_golden_holds_decisions_written_under_policy_decided_v1():
    codec = default_codec()
    v1 = codec.registry.get(m.PolicyDecided.EVENT_TYPE, 1)
    assert codec.registry.latest(m.PolicyDecided.EVENT_TYPE).version > 1
    run = golden.read(golden.RUNS / "refund-approved.policy-decided-v1.jsonl")
    decisions = [
        msg for msg in run.messages if codec.identify(msg.payload).full_name == v1.full_name
    ]
    assert len(decisions) >= 2
    assert all(codec.identify(msg.payload) is v1 for msg in decisions)
    assert all(codec.decode(msg.payload).envelope.schema_version == 1 for msg in decisions)


def test_a_run_recorded_under_policy_decided_v1_replays_exactly_as_its_v2_recording():
    current = golden.RUNS / "refund-approved.jsonl"
    older = golden.RUNS / "refund-approved.policy-decided-v1.jsonl"
    assert golden.read(current).run_id == golden.read(older).run_id

    assert _tree(older) == _tree(current)
    tools = tool_infos(demo_registry())
    replayed = [
        replay_run(_events(p), playbooks=bundled_playbooks(), tools=tools) for p in (current, older)
    ]
    assert replayed[0].divergence is None
    assert replayed[1].divergence is None
    assert replayed[1].state == replayed[0].state
    assert replayed[1].decisions == replayed[0].decisions
    assert _verified(older) == _verified(current)


def test_a_golden_run_with_a_decision_changed_and_not_re_signed_fails_verification():
    from agentdeck.audit import VerificationFailed

    path = golden.RUNS / "refund-approved.policy-decided-v1.jsonl"
    run = golden.read(path)
    events = _events(path)
    parked = next(
        e
        for e in events
        if isinstance(e, m.PolicyDecided) and e.outcome is m.DecisionOutcome.REQUIRE_APPROVAL
    )
    forged = [
        e.model_copy(update={"outcome": m.DecisionOutcome.ALLOW}) if e is parked else e
        for e in events
    ]
    with pytest.raises(VerificationFailed, match=parked.envelope.event_id) as failed:
        verify_run(
            forged,
            STACK,
            bundles=[run.bundle],
            keys=[f"{k}={v}" for k, v in run.policy_keys.items()],
            console=Console(file=io.StringIO()),
        )
    assert "signature does not verify" in str(failed.value)


def test_a_decision_whose_request_was_removed_from_the_log_is_pointed_at():
    from agentdeck.contracts import default_codec as codec_of
    from agentdeck.demo.tools import demo_registry as registry_of
    from agentdeck.policy_checker.adapters.catalog import ToolCatalog
    from agentdeck.policy_checker.replay import verify_decisions
    from agentdeck.signing import Verifier

    path = golden.RUNS / "refund-auto.jsonl"
    run = golden.read(path)
    events = _events(path)
    requests = [e for e in events if isinstance(e, m.ToolCallRequested)]
    gone = requests[1]
    engine = load_bundle(run.bundle)

    checked = verify_decisions(
        [e for e in events if e is not gone],
        engines={engine.bundle.digest: engine},
        catalog=ToolCatalog(registry_of()),
        verifier=Verifier(run.policy_keys),
        registry=codec_of().registry,
    )

    assert checked.divergence is not None
    assert checked.divergence.recorded.request_id == gone.envelope.event_id
    assert "is not in the log" in checked.divergence.describe()
