"""Signed outcome events (pure)."""

from datetime import timedelta

import pytest

from agentdeck.approval.core import (
    Approver,
    Verdict,
    cast,
    escalated_event,
    on_timer,
    open_case,
    outcome_event,
)
from agentdeck.contracts import models as m
from agentdeck.signing import (
    Signer,
    Verifier,
    approval_message,
    approval_outcome_message,
    generate_private_key,
)
from testkit.kafka import NOW, TEST_PRODUCER

BOB = Approver(name="bob", role="finance")
DAVE = Approver(name="dave", role="finance")
ALICE = Approver(name="alice", role="support-lead")


@pytest.fixture(scope="module")
def signer():
    return Signer("approval-test", generate_private_key())


@pytest.fixture
def verifier(signer):
    return Verifier({"approval-test": signer.public_key_b64()})


def test_a_grant_is_signed_over_approval_payload_outcome_and_approver(
    make_decision, rules, signer, verifier
):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    granted = cast(case, ALICE, Verdict.APPROVE, "ok", NOW).case
    event = outcome_event(granted, signer, TEST_PRODUCER)
    assert isinstance(event, m.ApprovalGranted)
    assert (event.approver, event.approver_role, event.comment) == ("alice", "support-lead", "ok")
    expected = approval_message(case.approval_id, case.request.payload_hash, "granted", "alice")
    assert verifier.verify(event.key_id, expected, event.signature)
    assert event.envelope.causation_id == case.request.envelope.event_id


def test_a_quorum_grant_names_every_approver(make_decision, rules, signer, verifier):
    case = open_case(make_decision(matched=("risk:high",)), rules, now=NOW, producer=TEST_PRODUCER)
    once = cast(case, BOB, Verdict.APPROVE, "fine", NOW).case
    twice = cast(once, DAVE, Verdict.APPROVE, "agreed", NOW).case
    event = outcome_event(twice, signer, TEST_PRODUCER)
    assert (event.approver, event.approver_role) == ("bob+dave", "finance+finance")
    assert event.comment == "bob: fine; dave: agreed"
    assert verifier.verify(event.key_id, approval_outcome_message(event), event.signature)


def test_a_denial_names_the_denier(make_decision, rules, signer, verifier):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    event = outcome_event(cast(case, ALICE, Verdict.DENY, "no", NOW).case, signer, TEST_PRODUCER)
    assert isinstance(event, m.ApprovalDenied)
    expected = approval_message(case.approval_id, case.request.payload_hash, "denied", "alice")
    assert verifier.verify(event.key_id, expected, event.signature)


def test_an_expiry_applies_deny_and_is_signed_as_expired(make_decision, rules, signer, verifier):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    expired = on_timer(case, case.deadline).case
    event = outcome_event(expired, signer, TEST_PRODUCER)
    assert isinstance(event, m.ApprovalExpired)
    assert event.outcome == "deny"
    expected = approval_message(case.approval_id, case.request.payload_hash, "expired", "")
    assert verifier.verify(event.key_id, expected, event.signature)


def test_a_signature_moved_to_another_payload_fails(make_decision, rules, signer, verifier):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    event = outcome_event(cast(case, ALICE, Verdict.APPROVE, None, NOW).case, signer, TEST_PRODUCER)
    moved = event.model_copy(update={"payload_hash": "0" * 64})
    assert not verifier.verify(moved.key_id, approval_outcome_message(moved), moved.signature)


def test_rebuilding_an_outcome_reproduces_the_same_event(make_decision, rules, signer):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    denied = cast(case, ALICE, Verdict.DENY, None, NOW).case
    assert outcome_event(denied, signer, TEST_PRODUCER) == outcome_event(
        denied, signer, TEST_PRODUCER
    )


def test_an_open_case_has_no_outcome_event(make_decision, rules, signer):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    with pytest.raises(ValueError, match="not closed"):
        outcome_event(case, signer, TEST_PRODUCER)


def test_an_escalation_names_the_next_role_and_keeps_the_deadline(make_decision, rules):
    case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
    escalated = on_timer(case, NOW + timedelta(minutes=30)).case
    event = escalated_event(escalated, TEST_PRODUCER)
    assert (event.level, event.escalated_to, event.new_deadline) == (1, "finance", case.deadline)
    assert event.envelope.event_id == escalated_event(escalated, TEST_PRODUCER).envelope.event_id


def test_the_executor_accepts_every_outcome_the_service_signs(make_decision, rules, signer):
    from agentdeck.tool_executor.core.verify import check_approval_signature

    keys = Verifier({signer.key_id: signer.public_key_b64()})
    case = open_case(make_decision(matched=("risk:high",)), rules, now=NOW, producer=TEST_PRODUCER)
    granted = cast(
        cast(case, BOB, Verdict.APPROVE, None, NOW).case, DAVE, Verdict.APPROVE, None, NOW
    )
    denied = cast(case, BOB, Verdict.DENY, None, NOW)
    expired = on_timer(case, case.deadline)
    for closed in (granted.case, denied.case, expired.case):
        check_approval_signature(outcome_event(closed, signer, TEST_PRODUCER), keys)
