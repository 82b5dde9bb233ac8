"""Decisions and approvals the executor must refuse: each with its machine-readable code."""

from datetime import timedelta

import pytest

from agentdeck.contracts.models import DecisionOutcome, ToolCallCompleted
from agentdeck.hashing import sha256_hex
from agentdeck.ids import approval_id_for
from agentdeck.signing import Signer, generate_private_key
from agentdeck.tool_executor.adapters.effects import EffectLedger
from agentdeck.tool_executor.core.errors import ApprovalRefused, DecisionRefused

LOOKUP = {"order_id": "1042"}

EFFECTS = EffectLedger()


def _refused(executor, *events, error=DecisionRefused):  # type: ignore[no-untyped-def]
    with pytest.raises(error) as caught:
        executor.handle(*events)
    return caught.value.code


def test_a_decision_signed_with_another_key_under_a_known_id_is_forged(authority, make_executor):
    forger = Signer("policy-1", generate_private_key())
    decision = authority.decision("lookup_order", LOOKUP, signer=forger)
    assert _refused(make_executor(), decision) == "bad_signature"


def test_an_unsigned_decision_is_refused(authority, make_executor):
    decision = authority.decision("lookup_order", LOOKUP).model_copy(update={"signature": b""})
    assert _refused(make_executor(), decision) == "bad_signature"


def test_a_decision_signed_by_an_unknown_key_is_refused(authority, make_executor):
    stranger = Signer("policy-9", generate_private_key())
    decision = authority.decision("lookup_order", LOOKUP, signer=stranger)
    assert _refused(make_executor(), decision) == "unknown_key"


def test_arguments_swapped_under_a_valid_signature_are_refused(authority, make_executor):
    decision = authority.decision("lookup_order", LOOKUP)
    swapped = decision.model_copy(update={"arguments_json": '{"order_id":"3001"}'})
    assert _refused(make_executor(), swapped) == "arguments_mismatch"


def test_an_expired_decision_is_refused(authority, make_executor):
    decision = authority.decision("lookup_order", LOOKUP, expires_in=timedelta(seconds=-1))
    assert _refused(make_executor(), decision) == "decision_expired"


def test_a_decision_for_a_tool_this_executor_lacks_is_refused_unless_told_to_ignore_it(
    authority, make_executor
):
    decision = authority.decision("wire_money", {"to": "x"})
    assert _refused(make_executor(), decision) == "unknown_tool"
    assert make_executor(ignore_foreign_tools=True).handle(decision) == []


def test_a_decision_for_an_incompatible_tool_version_is_refused(authority, make_executor):
    from agentdeck.signing import decision_message

    decision = authority.decision("lookup_order", LOOKUP)
    moved = decision.model_copy(update={"tool_version": "2.0"})
    resigned = moved.model_copy(
        update={"signature": authority.policy.sign(decision_message(moved))}
    )
    assert _refused(make_executor(), resigned) == "tool_version_incompatible"


def test_a_second_decision_for_a_call_that_already_ran_is_a_replay(authority, make_executor):
    executor = make_executor()
    first = authority.decision("lookup_order", LOOKUP)
    executor.handle(first)
    run = first.envelope.run_id
    again = authority.decision("lookup_order", LOOKUP, run_id=run, nonce="second")
    assert again.idempotency_key == first.idempotency_key
    assert again.decision_id != first.decision_id
    assert _refused(executor, again) == "decision_replayed"


def test_a_refused_event_stops_its_batch_before_anything_runs(authority, make_executor, store):
    good = authority.decision("lookup_order", LOOKUP)
    bad = authority.decision("lookup_order", LOOKUP, expires_in=timedelta(seconds=-1))
    assert _refused(make_executor(), good, bad) == "decision_expired"
    with store.transaction(read_only=True) as conn:
        assert EFFECTS.get(conn, good.idempotency_key) is None


def _refund(authority):  # type: ignore[no-untyped-def]
    args = {"order_id": "3001", "amount_cents": 6000, "reason": "broken on arrival"}
    return authority.decision("create_refund", args, outcome=DecisionOutcome.REQUIRE_APPROVAL)


def test_a_decision_needing_approval_waits_and_runs_once_granted(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    assert executor.handle(decision) == []
    events = executor.handle(authority.grant(decision))
    assert [type(e) for e in events] == [ToolCallCompleted]
    assert events[0].envelope.causation_id == decision.envelope.event_id
    other = authority.grant(decision, approver="carol")
    assert _refused(executor, other, error=ApprovalRefused) == "approval_replayed"


def test_a_grant_that_arrives_before_its_decision_releases_it_on_arrival(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    assert executor.handle(authority.grant(decision)) == []
    assert [type(e) for e in executor.handle(decision)] == [ToolCallCompleted]


def test_a_forged_grant_is_refused_and_the_call_stays_parked(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    executor.handle(decision)
    forger = Signer("approval-1", generate_private_key())
    forged = authority.grant(decision, signer=forger)
    assert _refused(executor, forged, error=ApprovalRefused) == "bad_signature"
    assert [type(e) for e in executor.handle(authority.grant(decision))] == [ToolCallCompleted]


def test_a_grant_for_another_payload_is_refused(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    executor.handle(decision)
    other = authority.grant(decision, payload_hash=sha256_hex("{}"))
    assert _refused(executor, other, error=ApprovalRefused) == "payload_mismatch"


def test_a_grant_after_a_denial_is_refused(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    executor.handle(decision, authority.deny(decision))
    grant = authority.grant(decision)
    assert _refused(executor, grant, error=ApprovalRefused) == "approval_closed"


@pytest.mark.parametrize("approval_id", [None, "someone-else", approval_id_for("another-decision")])
def test_a_decision_pointing_at_another_approval_or_none_is_refused(
    authority, make_executor, approval_id
):
    # The approval service refuses the same ones (tests/services/approval/test_core_opening.py).
    from agentdeck.signing import decision_message

    decision = _refund(authority)
    moved = decision.model_copy(update={"approval_id": approval_id})
    resigned = moved.model_copy(
        update={"signature": authority.policy.sign(decision_message(moved))}
    )
    assert _refused(make_executor(), resigned) == "approval_mismatch"


def test_an_allowed_decision_naming_an_approval_is_refused(authority, make_executor):
    decision = authority.decision("lookup_order", LOOKUP)
    stray = decision.model_copy(update={"approval_id": approval_id_for(decision.decision_id)})
    assert _refused(make_executor(), stray) == "approval_mismatch"


def test_a_deny_decision_does_nothing(authority, make_executor):
    decision = authority.decision("lookup_order", LOOKUP, outcome=DecisionOutcome.DENY)
    assert make_executor().handle(decision) == []
