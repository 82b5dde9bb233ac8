from datetime import UTC, datetime

import pytest

from agentdeck.contracts import default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    PolicyDecided,
)
from agentdeck.errors import ConfigError
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.signing import (
    ApprovalOutcome,
    Signer,
    Verifier,
    approval_message,
    approval_outcome_message,
    decision_message,
    generate_private_key,
    message,
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("policy-1", generate_private_key())


def _example(kind):  # type: ignore[no-untyped-def]
    codec = default_codec()
    event = codec.decode(example_message(codec.registry.latest(kind.EVENT_TYPE)))
    assert isinstance(event, kind)
    return event


def _decision() -> PolicyDecided:
    event: PolicyDecided = _example(PolicyDecided)
    return event


def test_a_signed_decision_verifies_with_the_public_key_only(signer):
    decision = _decision()
    signature = signer.sign(decision_message(decision))
    verifier = Verifier({"policy-1": signer.public_key_b64()})
    assert verifier.verify("policy-1", decision_message(decision), signature)


@pytest.mark.parametrize(
    "change",
    [
        {"tool": "send_email"},
        {"arguments_hash": sha256_hex("{}")},
        {"idempotency_key": "another-call"},
        {"attempt": 2},
        {"bundle_digest": "other"},
        {"expires_at": datetime(2030, 1, 1, tzinfo=UTC)},
    ],
)
def test_a_decision_moved_to_another_call_fails_verification(signer, change):
    decision = _decision()
    signature = signer.sign(decision_message(decision))
    verifier = Verifier({"policy-1": signer.public_key_b64()})
    assert not verifier.verify(
        "policy-1", decision_message(decision.model_copy(update=change)), signature
    )


def test_a_decision_moved_to_another_run_fails_verification(signer):
    decision = _decision()
    signature = signer.sign(decision_message(decision))
    moved = decision.model_copy(
        update={"envelope": decision.envelope.model_copy(update={"run_id": "other-run"})}
    )
    verifier = Verifier({"policy-1": signer.public_key_b64()})
    assert not verifier.verify("policy-1", decision_message(moved), signature)


def test_unknown_keys_and_other_keys_fail(signer):
    data = approval_message("a1", "hash", "granted", "alice")
    signature = signer.sign(data)
    other = Signer("policy-1", generate_private_key())
    assert not Verifier({"policy-1": other.public_key_b64()}).verify("policy-1", data, signature)
    assert not Verifier({}).verify("policy-1", data, signature)


def test_a_decision_signature_is_no_approval_signature(signer):
    fields = ["a", "b", "c", "d"]
    signature = signer.sign(message("agentdeck.decision.v1", fields))
    verifier = Verifier({"policy-1": signer.public_key_b64()})
    assert not verifier.verify("policy-1", message("agentdeck.approval.v1", fields), signature)


def test_field_boundaries_cannot_be_shifted():
    with pytest.raises(ValueError, match="separator"):
        message("d", ["a\x1fb"])


def test_bad_key_material_is_a_config_error():
    with pytest.raises(ConfigError):
        Signer("k", "not base64!")
    with pytest.raises(ConfigError):
        Verifier({"k": "AAAA"})


def test_canonical_json_ignores_key_order_and_whitespace():
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1})
    assert canonical_json({"a": "é"}) == '{"a":"é"}'
    assert sha256_hex(canonical_json({"x": 1})) == sha256_hex(b'{"x":1}')
    assert len(sha256_hex("")) == 64


@pytest.mark.parametrize(
    ("kind", "outcome", "signs_approver"),
    [
        (ApprovalGranted, "granted", True),
        (ApprovalDenied, "denied", True),
        (ApprovalExpired, "expired", False),
    ],
)
def test_an_approval_outcome_signs_its_id_payload_outcome_and_approver(
    kind, outcome, signs_approver
):
    event: ApprovalOutcome = _example(kind)
    approver = event.approver if signs_approver else ""
    assert approval_outcome_message(event) == approval_message(
        event.approval_id, event.payload_hash, outcome, approver
    )
