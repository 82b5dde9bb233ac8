import pytest

from agentdeck.contracts import default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import ApprovalGranted, DecisionOutcome, PolicyDecided
from agentdeck.ids import approval_id_for
from agentdeck.signing import (
    Signer,
    Verifier,
    approval_id_problem,
    approval_outcome_message,
    approval_signature_problem,
    bound_approval_id,
    decision_message,
    decision_signature_problem,
    generate_private_key,
)

ALLOW, DENY, ASK = DecisionOutcome.ALLOW, DecisionOutcome.DENY, DecisionOutcome.REQUIRE_APPROVAL


def _decision(outcome: DecisionOutcome, approval_id: str | None) -> PolicyDecided:
    codec = default_codec()
    event = codec.decode(example_message(codec.registry.latest(PolicyDecided.EVENT_TYPE)))
    assert isinstance(event, PolicyDecided)
    return event.model_copy(update={"outcome": outcome, "approval_id": approval_id})


def test_only_a_decision_that_asks_for_approval_is_bound_to_one():
    assert bound_approval_id("d-1", ASK) == approval_id_for("d-1")
    assert bound_approval_id("d-1", ALLOW) is None
    assert bound_approval_id("d-1", DENY) is None


@pytest.mark.parametrize(
    ("outcome", "approval_id", "ok"),
    [
        (ASK, "bound", True),
        (ASK, None, False),
        (ASK, "another decision's", False),
        (ASK, "free text", False),
        (ALLOW, None, True),
        (ALLOW, "bound", False),
        (DENY, None, True),
        (DENY, "free text", False),
    ],
)
def test_a_decision_names_exactly_the_approval_bound_to_it(outcome, approval_id, ok):
    decision = _decision(outcome, None)
    named = {
        "bound": approval_id_for(decision.decision_id),
        "another decision's": approval_id_for("another-decision"),
    }.get(approval_id or "", approval_id)
    problem = approval_id_problem(decision.model_copy(update={"approval_id": named}))
    assert (problem is None) is ok


KEY = Signer("policy-1", generate_private_key())
KEYS = Verifier({KEY.key_id: KEY.public_key_b64()})


@pytest.mark.parametrize(
    ("signer", "change", "problem"),
    [
        (KEY, {}, None),
        (Signer("policy-1", generate_private_key()), {}, "bad_signature"),
        (Signer("policy-9", generate_private_key()), {}, "unknown_key"),
        (KEY, {"tool": "wire_money"}, "bad_signature"),
        (KEY, {"signature": b""}, "bad_signature"),
    ],
)
def test_a_decision_counts_only_if_a_known_key_signed_it_as_it_is(signer, change, problem):
    decision = _decision(ASK, None)
    signed = decision.model_copy(
        update={"key_id": signer.key_id, "signature": signer.sign(decision_message(decision))}
    )
    assert decision_signature_problem(signed.model_copy(update=change), KEYS) == problem


@pytest.mark.parametrize(
    ("signer", "change", "problem"),
    [
        (KEY, {}, None),
        (Signer("policy-1", generate_private_key()), {}, "bad_signature"),
        (Signer("policy-9", generate_private_key()), {}, "unknown_key"),
        (KEY, {"payload_hash": "0" * 64}, "bad_signature"),
        (KEY, {"approver": "mallory"}, "bad_signature"),
    ],
)
def test_an_approval_counts_only_if_a_known_key_signed_it_as_it_is(signer, change, problem):
    codec = default_codec()
    grant = codec.decode(example_message(codec.registry.latest(ApprovalGranted.EVENT_TYPE)))
    assert isinstance(grant, ApprovalGranted)
    signed = grant.model_copy(
        update={"key_id": signer.key_id, "signature": signer.sign(approval_outcome_message(grant))}
    )
    assert approval_signature_problem(signed.model_copy(update=change), KEYS) == problem
