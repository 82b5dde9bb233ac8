"""Cancelling a run: the operator's RUN switch ends it once; refusals because of it wait for it."""

from __future__ import annotations

from datetime import timedelta

from agentdeck.contracts import envelope_for, follow_up
from agentdeck.contracts import models as m
from agentdeck.controls import RUN_CANCELLED, RUN_CANCELLED_POLICY
from agentdeck.planner.core import RunPhase, StepStatus
from agentdeck.planner.core.cancel import cancelled_run_of

from .test_core import ME, NOW, ORDER, Run, goal, types


def cancel(run_id: str, *, scope: m.KillSwitchScope = m.KillSwitchScope.RUN, n: int = 1):
    return m.KillSwitchSet(
        envelope=envelope_for(
            m.KillSwitchSet,
            event_id=f"cancel-{run_id}-{n}",
            tenant="acme",
            producer=ME,
            occurred_at=NOW + timedelta(seconds=n),
            run_id=run_id,
        ),
        scope=scope,
        target=run_id,
        engaged=True,
        set_by="oncall",
        reason="customer withdrew",
    )


def parked() -> Run:
    run = Run(goal(23000))
    run.allow_and_complete("lookup", ORDER | {"refundable_cents": 23000})
    run.feed(run.decision("refund", m.DecisionOutcome.REQUIRE_APPROVAL))
    assert run.run.step("refund").status is StepStatus.WAITING_APPROVAL
    return run


def test_a_run_waiting_for_an_approval_ends_cancelled_when_its_switch_arrives():
    run = parked()
    out = run.feed(cancel(run.run.run_id))
    assert types(out) == ["RunCancelled"]
    [cancelled] = out
    assert isinstance(cancelled, m.RunCancelled)
    assert (cancelled.reason, cancelled.cancelled_by) == ("customer withdrew", "oncall")
    assert cancelled.envelope.run_id == run.run.run_id
    assert cancelled.envelope.causation_id == f"cancel-{run.run.run_id}-1"
    assert run.run.phase is RunPhase.CANCELLED
    assert run.run.finished_at == NOW


def test_a_run_is_cancelled_once_and_schedules_nothing_after():
    run = Run(goal(2000))
    run_id = run.run.run_id
    assert types(run.feed(cancel(run_id))) == ["RunCancelled"]
    assert run.feed(cancel(run_id, n=2)) == [], "cancelled again: nothing more"
    # The lookup's outcome arrives late: the run does not move on to the refund.
    assert run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW)) == []
    assert run.feed(run.completed("lookup", ORDER)) == []
    assert run.run.phase is RunPhase.CANCELLED
    assert run.run.step("refund").status is StepStatus.PENDING


def test_another_runs_switch_or_a_broader_one_does_not_cancel_the_run():
    run = parked()
    assert run.feed(cancel("some-other-run")) == []
    tenant = cancel(run.run.run_id, scope=m.KillSwitchScope.TENANT)
    assert cancelled_run_of(tenant) is None
    assert run.feed(tenant) == []
    assert run.run.phase is RunPhase.RUNNING


def test_a_finished_run_stays_finished_when_cancelled_late():
    run = Run(goal(2000))
    run.allow_and_complete("lookup", ORDER)
    run.allow_and_complete("refund", {"refund_id": "rf-1", "amount_cents": 2000})
    run.allow_and_complete("draft", {"to": "kim@example.com", "subject": "s", "body": "b"})
    assert run.run.phase is RunPhase.COMPLETED
    assert run.feed(cancel(run.run.run_id)) == []
    assert run.run.phase is RunPhase.COMPLETED


def test_the_executors_refusal_of_a_cancelled_runs_call_waits_for_the_switch_not_failing_the_run():
    run = Run(goal(2000))
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    refused = run.failed("lookup", retryable=False)
    refused = refused.model_copy(
        update={"failure": refused.failure.model_copy(update={"code": RUN_CANCELLED})}
    )
    assert run.feed(refused) == [], "no RunFailed, no retry, no next step"
    assert run.run.phase is RunPhase.RUNNING
    assert run.run.step("lookup").status is StepStatus.FAILED
    assert types(run.feed(cancel(run.run.run_id))) == ["RunCancelled"]


def test_the_policy_checkers_denial_of_a_cancelled_runs_call_waits_for_the_switch():
    run = Run(goal(2000))
    denied = run.decision("lookup", m.DecisionOutcome.DENY, "run was cancelled by oncall")
    denied = denied.model_copy(update={"matched_policies": (RUN_CANCELLED_POLICY,)})
    assert run.feed(denied) == [], "no re-plan, no RunFailed"
    lookup = run.run.step("lookup")
    assert lookup.status is StepStatus.FAILED
    assert lookup.failure is not None
    assert lookup.failure.code == RUN_CANCELLED
    assert types(run.feed(cancel(run.run.run_id))) == ["RunCancelled"]


def test_an_ordinary_permanent_failure_still_fails_the_run():
    run = Run(goal(2000))
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    assert types(run.feed(run.failed("lookup", retryable=False))) == ["RunFailed"]


def test_a_grant_arriving_after_the_cancel_does_not_resume_the_run():
    run = parked()
    run.feed(cancel(run.run.run_id))
    req = run.request("refund")
    granted = m.ApprovalGranted(
        envelope=follow_up(req, m.ApprovalGranted, producer=ME, occurred_at=NOW),
        approval_id="a",
        payload_hash=req.arguments_hash,
        approver="alice",
        approver_role="support-lead",
        key_id="k",
        signature=b"s",
    )
    assert run.feed(granted) == []
    assert run.run.step("refund").status is StepStatus.WAITING_APPROVAL
