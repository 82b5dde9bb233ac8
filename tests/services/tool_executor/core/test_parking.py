import pytest

from agentdeck.contracts.models import DecisionOutcome
from agentdeck.tool_executor.core.errors import ApprovalRefused
from agentdeck.tool_executor.core.parking import (
    decision_from_json,
    decision_to_json,
    on_closed,
    on_decision,
    on_grant,
)

ARGS = {"order_id": "2077", "amount_cents": 9000, "reason": "late"}


@pytest.fixture
def decision(authority):  # type: ignore[no-untyped-def]
    return authority.decision("create_refund", ARGS, outcome=DecisionOutcome.REQUIRE_APPROVAL)


def test_a_parked_decision_survives_its_json_form_signature_included(decision):
    assert decision_from_json(decision_to_json(decision)) == decision


def test_a_grant_releases_the_parked_decision_exactly_once(authority, decision):
    slot, released = on_decision(None, decision, decision.approval_id)
    assert (slot.state, released) == ("waiting", None)
    grant = authority.grant(decision)
    slot, released = on_grant(slot, grant)
    assert (slot.state, released) == ("executed", decision)
    assert on_grant(slot, grant)[1] == decision  # the same grant again: the ledger dedupes
    with pytest.raises(ApprovalRefused, match="already used"):
        on_grant(slot, authority.grant(decision, approver="carol"))


def test_a_redelivered_decision_does_not_change_its_slot(decision):
    slot, _ = on_decision(None, decision, decision.approval_id)
    assert on_decision(slot, decision, decision.approval_id) == (slot, None)


def test_a_denied_approval_closes_the_slot_unless_the_call_already_ran(authority, decision):
    waiting, _ = on_decision(None, decision, decision.approval_id)
    assert on_closed(waiting, decision.approval_id).state == "closed"
    ran, _ = on_grant(waiting, authority.grant(decision))
    assert on_closed(ran, decision.approval_id) == ran
