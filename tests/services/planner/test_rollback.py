"""Rolling runs back: which calls get compensated, in which order, and the report of every call."""

from __future__ import annotations

import json
from datetime import timedelta

from agentdeck.contracts import Event, envelope_for
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.ids import rollback_run_id_for
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import Context, RunPhase, RunState, Templates, decide
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run

from .test_cancel import cancel
from .test_core import ME, NOW, ORDER, Run, goal, types

TOOLS = tool_infos(demo_registry())
UNDONE, NOT_UNDONE, NOTHING = (
    m.RollbackOutcome.UNDONE,
    m.RollbackOutcome.NOT_UNDONE,
    m.RollbackOutcome.NOTHING_TO_UNDO,
)


def refund_id(n: int) -> str:
    return f"rf-{n:08d}-0000-0000-0000-000000000000"


def refunded(amount: int, n: int, *, send: bool = False) -> Run:
    """A refund-order run that refunded ``amount`` (and sent the customer note if ``send``)."""
    first = goal(amount)
    if send:
        inputs = json.loads(first.inputs_json) | {"send_email": True}
        first = first.model_copy(update={"inputs_json": json.dumps(inputs)})
    run = Run(first, now=NOW + timedelta(minutes=n))
    run.allow_and_complete("lookup", ORDER)
    refund = {
        "refund_id": refund_id(n),
        "order_id": "1042",
        "amount_cents": amount,
        "currency": "USD",
        "reason": "damaged",
    }
    run.allow_and_complete("refund", refund)
    note = {"to": "kim@example.com", "subject": "s", "body": "b", "words": 1}
    later = NOW + timedelta(minutes=n, seconds=30)  # when the run finishes
    run.feed(run.decision("draft", m.DecisionOutcome.ALLOW))
    run.feed(run.completed("draft", note), now=later if not send else NOW)
    if send:
        run.feed(run.decision("notify", m.DecisionOutcome.ALLOW))
        run.feed(run.completed("notify", {"message_id": "m", "to": "k", "subject": "s"}), now=later)
    assert run.run.phase is RunPhase.COMPLETED
    return run


class Rollback(Run):
    """A rollback run of ``targets``, fed like any run."""

    def __init__(self, *targets: RunState, extra: tuple[str, ...] = ()) -> None:
        ids = tuple(t.run_id for t in targets) + extra
        self.request_event = m.RollbackRequested(
            envelope=envelope_for(
                m.RollbackRequested,
                event_id="rollback-request",
                tenant="acme",
                producer=ME,
                occurred_at=NOW + timedelta(hours=1),
                run_id=rollback_run_id_for(ids),
            ),
            target_runs=ids,
            requested_by="operator-1",
            reason="refunded by mistake",
        )
        self.targets = {t.run_id: t for t in targets}
        self.state, self.emitted = decide(None, self.request_event, self.ctx())

    def ctx(self) -> Context:
        return Context(
            now=NOW + timedelta(hours=1),
            producer=ME,
            playbooks=bundled_playbooks(),
            tools=TOOLS,
            templates=Templates(),
            targets=self.targets,
        )

    def feed(self, event: Event, now: object = None) -> list[Event]:  # noqa: ARG002 -- one clock
        self.state, out = decide(self.state, event, self.ctx())
        self.emitted += out
        return out

    def deny(self, step: str, reason: str) -> list[Event]:
        return self.feed(self.decision(step, m.DecisionOutcome.DENY, reason))

    def report(self) -> m.RollbackReported:
        [report] = [e for e in self.emitted if isinstance(e, m.RollbackReported)]
        assert isinstance(report, m.RollbackReported)
        return report


def later(event: Event) -> Event:
    """``event`` as recorded after the rollback request (replay orders inputs by time)."""
    stamp = NOW + timedelta(hours=1, seconds=1)
    return event.model_copy(
        update={"envelope": event.envelope.model_copy(update={"occurred_at": stamp})}
    )


def outcomes(report: m.RollbackReported) -> list[tuple[str, str, m.RollbackOutcome]]:
    return [(c.run_id, c.step_id, c.outcome) for c in report.calls]


def test_a_rollback_cancels_the_refund_and_reports_every_call_of_the_run():
    target = refunded(2000, 1, send=True).run
    rollback = Rollback(target)
    assert types(rollback.emitted) == ["RunStarted", "PlanProposed", "ToolCallRequested"]
    request = rollback.request("undo_1")
    assert request.tool == "cancel_refund"
    assert json.loads(request.arguments_json) == {
        "refund_id": refund_id(1),
        "reason": "rollback of the refund of order 1042",
    }
    assert request.envelope.run_id == rollback_run_id_for([target.run_id])
    assert (request.envelope.tenant, request.envelope.agent) == ("acme", "support-agent")

    out = rollback.allow_and_complete("undo_1", {"refund_id": refund_id(1), "status": "cancelled"})
    assert types(out) == ["RollbackReported", "RunCompleted"]
    report = rollback.report()
    run = target.run_id
    assert outcomes(report) == [
        (run, "notify", NOT_UNDONE),
        (run, "draft", NOTHING),
        (run, "refund", UNDONE),
        (run, "lookup", NOTHING),
    ], "newest call first; none left out"
    notify, _, refund, lookup = report.calls
    assert notify.reason == "send_email is irreversible and names no compensation"
    assert (refund.compensation, refund.compensation_step) == ("cancel_refund", "undo_1")
    assert lookup.reason == "lookup_order only reads"
    assert (report.undone, report.not_undone) == (1, 1)


def test_compensations_run_newest_first_one_at_a_time_across_runs():
    older, newer = refunded(1000, 1).run, refunded(1500, 2).run
    rollback = Rollback(older, newer)
    assert rollback.run.rollback is not None
    assert rollback.run.rollback.targets == (newer.run_id, older.run_id)
    requested = [e for e in rollback.emitted if isinstance(e, m.ToolCallRequested)]
    assert [json.loads(r.arguments_json)["refund_id"] for r in requested] == [refund_id(2)]
    rollback.allow_and_complete("undo_1", {})
    undo_2 = rollback.request("undo_2")
    assert json.loads(undo_2.arguments_json)["refund_id"] == refund_id(1), "then the older"
    rollback.allow_and_complete("undo_2", {})
    assert [c.step_id for c in rollback.report().calls if c.outcome is UNDONE] == [
        "refund",
        "refund",
    ]
    assert [c.run_id for c in rollback.report().calls if c.outcome is UNDONE] == [
        newer.run_id,
        older.run_id,
    ]


def test_a_denied_compensation_is_reported_and_the_older_ones_are_not_attempted():
    older, newer = refunded(1000, 1).run, refunded(1500, 2).run
    rollback = Rollback(older, newer)
    out = rollback.deny("undo_1", "the TOOL kill switch on cancel_refund is engaged")
    assert types(out) == ["RollbackReported", "RunCompleted"], "nothing else is requested"
    undone = {c.run_id: c for c in rollback.report().calls if c.step_id == "refund"}
    assert undone[newer.run_id].outcome is NOT_UNDONE
    assert undone[newer.run_id].reason == (
        "cancel_refund (undo_1) denied (policy_denied):"
        " the TOOL kill switch on cancel_refund is engaged"
    )
    assert undone[older.run_id].outcome is NOT_UNDONE
    assert "not attempted" in undone[older.run_id].reason
    assert rollback.report().not_undone == 2


def test_a_failed_call_and_an_unknown_run_are_reported_not_skipped():
    run = Run(goal(2000))
    run.allow_and_complete("lookup", ORDER)
    run.feed(run.decision("refund", m.DecisionOutcome.ALLOW))
    run.feed(run.failed("refund", retryable=False))
    run.allow_and_complete("handover", {"to": "lead@acme.example", "subject": "s", "body": "b"})
    assert run.run.phase is RunPhase.COMPLETED
    rollback = Rollback(run.run, extra=("no-such-run",))
    assert types(rollback.emitted) == [
        "RunStarted",
        "PlanProposed",
        "RollbackReported",
        "RunCompleted",
    ], "nothing to compensate: it ends at once"
    calls = {(c.run_id, c.step_id): c for c in rollback.report().calls}
    assert calls["no-such-run", ""].outcome is NOT_UNDONE
    failed = calls[run.run.run_id, "refund"]
    assert failed.outcome is NOT_UNDONE
    assert failed.reason.startswith("the call failed (timeout)")


def test_a_running_run_is_not_rolled_back():
    run = Run(goal(2000))
    run.allow_and_complete("lookup", ORDER)
    run.allow_and_complete("refund", {"refund_id": refund_id(3), "order_id": "1042"})
    assert run.run.phase is RunPhase.RUNNING
    rollback = Rollback(run.run)
    assert not [e for e in rollback.emitted if isinstance(e, m.ToolCallRequested)]
    [refund] = [c for c in rollback.report().calls if c.step_id == "refund"]
    assert (refund.outcome, refund.reason) == (
        NOT_UNDONE,
        "its run is still running: cancel it first",
    )


def test_asking_again_for_the_same_rollback_changes_nothing():
    rollback = Rollback(refunded(2000, 1).run)
    state = rollback.run
    again = rollback.request_event.model_copy()
    assert decide(state, again, rollback.ctx()) == (state, [])


def test_a_rollback_run_replays_from_its_events_and_its_targets():
    target = refunded(2000, 1, send=True).run
    rollback = Rollback(target)
    rollback.allow_and_complete("undo_1", {})
    inputs = [
        rollback.decision("undo_1", m.DecisionOutcome.ALLOW),
        rollback.completed("undo_1", {}),
    ]
    recorded = [rollback.request_event, *rollback.emitted, *map(later, inputs)]
    replayed = replay_run(
        recorded,
        playbooks=bundled_playbooks(),
        tools=TOOLS,
        targets={target.run_id: target},
    )
    assert replayed.divergence is None
    assert replayed.state == rollback.run
    assert replay_run(recorded, playbooks=bundled_playbooks(), tools=TOOLS).divergence is not None


def test_a_completed_call_is_remembered_with_its_arguments_in_completion_order():
    run = refunded(2000, 1).run
    assert run.completed == ("lookup", "refund", "draft")
    assert run.step("refund").tool == "create_refund"
    assert json.loads(run.step("refund").arguments_json or "{}")["amount_cents"] == 2000


def test_a_cancelled_rollback_reports_what_it_did_not_get_to():
    rollback = Rollback(refunded(2000, 1).run)
    out = rollback.feed(cancel(rollback.run.run_id))
    assert types(out) == ["RollbackReported", "RunCancelled"]
    [refund] = [c for c in rollback.report().calls if c.step_id == "refund"]
    assert refund.outcome is NOT_UNDONE
    assert refund.reason == "cancel_refund (undo_1) has no result: the rollback run ended cancelled"
