"""Per-call credentials: a credential authorizes its own call, nothing else and not later."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentdeck.credentials import (
    BadSignature,
    CredentialExpired,
    CredentialKeys,
    CredentialMalformed,
    CredentialMismatch,
    CredentialNotYetValid,
    UnknownKey,
    args_sha256,
    mint,
    verify,
)
from agentdeck.signing import Signer, generate_private_key

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
REFUND = {"order_id": "1042", "amount_cents": 1200, "reason": "late"}
CALL_A = "run-1:s1:1"
CALL_B = "run-1:s2:1"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("executor-1", generate_private_key())


@pytest.fixture(scope="module")
def keys(signer: Signer) -> CredentialKeys:
    return CredentialKeys({signer.key_id: signer.public_key_b64()})


def _mint(signer: Signer, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "issuer": "tool-executor",
        "audience": "demo-desk",
        "run_id": "run-1",
        "call_id": CALL_A,
        "tool": "create_refund",
        "args_sha256": args_sha256(REFUND),
        "not_before": START,
        "not_after": START + timedelta(seconds=30),
        **overrides,
    }
    return mint(signer, **values)


def _verify(token: str, keys: CredentialKeys, **overrides: Any):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {
        "audience": "demo-desk",
        "tool": "create_refund",
        "args_sha256": args_sha256(REFUND),
        "call_id": CALL_A,
        "now": START + timedelta(seconds=5),
        **overrides,
    }
    return verify(token, keys, **values)


def test_a_credential_verifies_for_the_call_it_was_minted_for(signer, keys):
    claims = _verify(_mint(signer), keys)
    assert (claims.run_id, claims.call_id, claims.tool) == ("run-1", CALL_A, "create_refund")
    assert (claims.audience, claims.issuer, claims.key_id) == (
        "demo-desk",
        "tool-executor",
        "executor-1",
    )
    assert claims.args_sha256 == args_sha256(REFUND)
    assert claims.not_after == START + timedelta(seconds=30)


def test_a_credential_is_a_compact_eddsa_jws_that_names_its_key(signer):
    header, claims, signature = _mint(signer).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(header + "=="))
    assert decoded == {"alg": "EdDSA", "typ": "agentdeck-call+jwt", "kid": "executor-1"}
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["call"] == CALL_A


def test_a_credential_minted_for_call_a_is_refused_for_call_b(signer, keys):
    with pytest.raises(CredentialMismatch) as caught:
        _verify(_mint(signer), keys, call_id=CALL_B)
    assert caught.value.code == "wrong_call"


def test_a_credential_is_refused_for_other_arguments(signer, keys):
    larger = {**REFUND, "amount_cents": 99_000}
    with pytest.raises(CredentialMismatch) as caught:
        _verify(_mint(signer), keys, args_sha256=args_sha256(larger))
    assert caught.value.code == "wrong_arguments"


def test_a_credential_is_refused_for_another_tool_or_backend(signer, keys):
    with pytest.raises(CredentialMismatch) as tool:
        _verify(_mint(signer), keys, tool="send_email")
    with pytest.raises(CredentialMismatch) as backend:
        _verify(_mint(signer), keys, audience="payments")
    assert (tool.value.code, backend.value.code) == ("wrong_tool", "wrong_audience")


def test_a_credential_is_refused_at_and_after_its_deadline(signer, keys):
    token = _mint(signer)
    _verify(token, keys, now=START + timedelta(seconds=29))
    for late in (timedelta(seconds=30), timedelta(hours=3)):
        with pytest.raises(CredentialExpired):
            _verify(token, keys, now=START + late)


def test_a_credential_is_refused_before_its_call_starts(signer, keys):
    with pytest.raises(CredentialNotYetValid):
        _verify(_mint(signer), keys, now=START - timedelta(seconds=2))


def test_leeway_tolerates_a_backend_clock_slightly_behind_or_ahead(signer, keys):
    token = _mint(signer)
    skew = timedelta(seconds=2)
    _verify(token, keys, now=START - timedelta(seconds=1), leeway=skew)
    _verify(token, keys, now=START + timedelta(seconds=31), leeway=skew)


def _swap_claims(token: str, **changes: Any) -> str:
    header, claims, signature = token.split(".")
    values = json.loads(base64.urlsafe_b64decode(claims + "=="))
    values.update(changes)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), signature])


def test_altered_claims_break_the_signature(signer, keys):
    token = _mint(signer)
    longer = _swap_claims(token, exp=int((START + timedelta(days=1)).timestamp()))
    with pytest.raises(BadSignature):
        _verify(longer, keys, now=START + timedelta(hours=1))
    with pytest.raises(BadSignature):
        _verify(_swap_claims(token, call=CALL_B), keys, call_id=CALL_B)


def test_a_credential_from_an_unknown_key_is_refused(keys):
    stranger = Signer("executor-9", generate_private_key())
    with pytest.raises(UnknownKey):
        _verify(_mint(stranger), keys)


def test_a_forged_credential_under_a_trusted_key_id_is_refused(keys):
    forger = Signer("executor-1", generate_private_key())
    with pytest.raises(BadSignature):
        _verify(_mint(forger), keys)


def test_both_keys_verify_during_a_rotation_and_only_the_new_one_after(signer):
    new = Signer("executor-2", generate_private_key())
    rotating = CredentialKeys(
        {signer.key_id: signer.public_key_b64(), new.key_id: new.public_key_b64()}
    )
    assert _verify(_mint(signer), rotating).key_id == "executor-1"
    assert _verify(_mint(new), rotating).key_id == "executor-2"
    rotated = CredentialKeys({new.key_id: new.public_key_b64()})
    with pytest.raises(UnknownKey):
        _verify(_mint(signer), rotated)


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a..c", "not base64!.x.y", "e30.e30.AA", "a.b.c.d"],
)
def test_text_that_is_not_a_credential_is_refused_as_malformed(keys, token):
    with pytest.raises(CredentialMalformed):
        _verify(token, keys)


def test_a_refusal_never_repeats_the_credential(signer, keys):
    token = _mint(signer)
    with pytest.raises(CredentialExpired) as caught:
        _verify(token, keys, now=START + timedelta(days=1))
    assert token not in str(caught.value)
    assert token.split(".")[2] not in str(caught.value)


def test_minting_needs_a_validity_that_ends_after_it_starts(signer):
    with pytest.raises(ValueError, match="expire after"):
        _mint(signer, not_after=START)
    with pytest.raises(ValueError, match="timezone"):
        _mint(signer, not_before=datetime(2030, 1, 1), not_after=datetime(2030, 1, 2))  # noqa: DTZ001


def test_the_arguments_hash_ignores_key_order():
    reordered = {"reason": "late", "amount_cents": 1200, "order_id": "1042"}
    assert args_sha256(reordered) == args_sha256(REFUND)
