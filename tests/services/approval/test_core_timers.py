"""Escalation and expiry with an injected clock (pure)."""

from datetime import timedelta

from agentdeck.approval.core import (
    Approver,
    CaseStatus,
    Escalate,
    Expire,
    Verdict,
    cast,
    on_timer,
    open_case,
)
from testkit.kafka import NOW, TEST_PRODUCER


def test_nothing_is_due_before_the_escalation_point(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    assert on_timer(case, NOW + timedelta(minutes=29, seconds=59)) is None


def test_past_the_escalation_point_the_case_goes_one_level_up_once(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    at = NOW + timedelta(minutes=31)
    action = on_timer(case, at)
    assert isinstance(action, Escalate)
    escalated = action.case
    assert (escalated.level, escalated.status, escalated.escalated_at) == (
        1,
        CaseStatus.ESCALATED,
        at,
    )
    assert escalated.deadline == case.deadline
    assert escalated.next_timer == case.deadline
    assert on_timer(escalated, at + timedelta(minutes=1)) is None


def test_past_the_deadline_the_default_outcome_applies(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    escalated = on_timer(case, NOW + timedelta(minutes=31)).case
    action = on_timer(escalated, case.deadline)
    assert isinstance(action, Expire)
    assert action.case.status is CaseStatus.EXPIRED
    assert action.case.decided_at == case.deadline


def test_a_case_overdue_for_both_timers_expires_without_escalating(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    assert isinstance(on_timer(case, NOW + timedelta(days=1)), Expire)


def test_a_decided_case_ignores_its_timers(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    alice = Approver(name="alice", role="support-lead")
    granted = cast(case, alice, Verdict.APPROVE, None, NOW).case
    assert on_timer(granted, NOW + timedelta(days=1)) is None
