"""Who may decide, and what a verdict does (pure)."""

from datetime import timedelta

import pytest

from agentdeck.approval.core import (
    Approver,
    CaseStatus,
    Closed,
    Recorded,
    Rejection,
    Verdict,
    cast,
    on_timer,
    open_case,
)
from agentdeck.contracts import models as m
from agentdeck.controls import switch_of
from testkit.controls import kill_switch
from testkit.kafka import NOW, TEST_PRODUCER

ALICE = Approver(name="alice", role="support-lead")
CAROL = Approver(name="carol", role="support-lead")
BOB = Approver(name="bob", role="finance")
DAVE = Approver(name="dave", role="finance")
SOON = NOW + timedelta(minutes=5)


@pytest.fixture
def case(make_decision, rules):
    return open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)


@pytest.fixture
def high_case(make_decision, rules):
    decision = make_decision(matched=("risk:high",))
    return open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)


def _code(result):
    assert isinstance(result, Rejection)
    return result.code


def test_an_approver_with_the_role_grants_the_request(case):
    result = cast(case, ALICE, Verdict.APPROVE, "ok", SOON)
    assert isinstance(result, Closed)
    assert result.case.status is CaseStatus.GRANTED
    assert result.case.decided_at == SOON


def test_an_engaged_kill_switch_refuses_an_approval_but_not_a_denial(case):
    stopped = switch_of(kill_switch(m.KillSwitchScope.TOOL, case.request.tool))
    refused = cast(case, ALICE, Verdict.APPROVE, "ok", SOON, stopped=stopped)
    assert _code(refused) == "kill_switch_engaged"
    assert f"TOOL:{case.request.tool}" in refused.message
    denied = cast(case, ALICE, Verdict.DENY, "no", SOON, stopped=stopped)
    assert isinstance(denied, Closed)
    assert denied.case.status is CaseStatus.DENIED


def test_a_denial_closes_the_request(case):
    result = cast(case, ALICE, Verdict.DENY, "no", SOON)
    assert isinstance(result, Closed)
    assert result.case.status is CaseStatus.DENIED


def test_the_requester_cannot_approve_their_own_request_even_with_the_role(case):
    requester = Approver(name="support-bot", role="support-lead")
    result = cast(case, requester, Verdict.APPROVE, None, SOON)
    assert _code(result) == "requester_cannot_decide"
    assert "separation of duties" in result.message


def test_the_requester_is_recognised_whatever_the_case_of_the_name(case):
    requester = Approver(name=" Support-Bot ", role="support-lead")
    assert _code(cast(case, requester, Verdict.DENY, None, SOON)) == "requester_cannot_decide"


def test_an_approver_without_the_role_is_refused(case):
    result = cast(case, BOB, Verdict.APPROVE, None, SOON)
    assert _code(result) == "wrong_role"
    assert "support-lead" in result.options[0]


def test_a_decided_request_takes_no_second_verdict(case):
    granted = cast(case, ALICE, Verdict.APPROVE, None, SOON)
    assert isinstance(granted, Closed)
    assert _code(cast(granted.case, CAROL, Verdict.DENY, None, SOON)) == "already_decided"


def test_no_verdict_counts_after_the_deadline(case):
    assert _code(cast(case, ALICE, Verdict.APPROVE, None, case.deadline)) == "deadline_passed"


def test_the_highest_band_needs_two_distinct_approvers(high_case):
    first = cast(high_case, BOB, Verdict.APPROVE, "fine", SOON)
    assert isinstance(first, Recorded)
    assert first.case.is_open
    assert _code(cast(first.case, BOB, Verdict.APPROVE, None, SOON)) == "already_voted"
    second = cast(first.case, DAVE, Verdict.APPROVE, "agreed", SOON)
    assert isinstance(second, Closed)
    assert second.case.status is CaseStatus.GRANTED
    assert [v.approver for v in second.case.votes] == ["bob", "dave"]


def test_one_denial_closes_a_quorum_request(high_case):
    first = cast(high_case, BOB, Verdict.APPROVE, None, SOON)
    assert isinstance(first, Recorded)
    second = cast(first.case, DAVE, Verdict.DENY, "too much", SOON)
    assert isinstance(second, Closed)
    assert second.case.status is CaseStatus.DENIED


def test_once_escalated_the_next_role_may_decide_too(case):
    assert _code(cast(case, BOB, Verdict.APPROVE, None, SOON)) == "wrong_role"
    escalated = on_timer(case, case.escalate_at).case
    assert isinstance(cast(escalated, BOB, Verdict.APPROVE, None, case.escalate_at), Closed)
    assert isinstance(cast(escalated, ALICE, Verdict.APPROVE, None, case.escalate_at), Closed)


def test_the_person_who_asked_for_the_goal_cannot_approve_its_calls(make_decision, rules):
    principal = m.Principal(producer="crm", requested_by="alice")
    decision = make_decision().model_copy(update={"principal": principal})
    asked = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    assert asked.request.requested_by == "alice"
    assert _code(cast(asked, ALICE, Verdict.APPROVE, None, SOON)) == "requester_cannot_decide"
    agent = Approver(name="support-bot", role="support-lead")
    assert _code(cast(asked, agent, Verdict.APPROVE, None, SOON)) == "requester_cannot_decide"
    assert isinstance(cast(asked, CAROL, Verdict.APPROVE, None, SOON), Closed)
