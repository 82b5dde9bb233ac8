"""Checkpoints: signed tree heads that any change to size, root, time or key breaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentdeck.audit import Checkpoint, leaf_hash, sign_checkpoint
from agentdeck.signing import Signer, Verifier, generate_private_key

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def signer(key_id: str = "telemetry-1") -> Signer:
    return Signer(key_id, generate_private_key())


def test_a_signed_checkpoint_verifies_under_its_public_key():
    key = signer()
    cp = sign_checkpoint(key, 7, leaf_hash(b"root"), NOW)
    assert cp.verify(Verifier({"telemetry-1": key.public_key_b64()}))
    assert Checkpoint.model_validate_json(cp.model_dump_json()) == cp


def test_changing_any_signed_field_breaks_the_signature():
    key = signer()
    verifier = Verifier({"telemetry-1": key.public_key_b64()})
    cp = sign_checkpoint(key, 7, leaf_hash(b"root"), NOW)
    for change in (
        {"tree_size": 8},
        {"root_hash": leaf_hash(b"other").hex()},
        {"timestamp": NOW + timedelta(seconds=1)},
        {"signature": "bm90IGEgc2lnbmF0dXJl"},
        {"signature": "***"},
        {"run_heads": 0},
    ):
        assert not cp.model_copy(update=change).verify(verifier), change


def test_a_checkpoint_counting_run_heads_signs_the_count():
    key = signer()
    verifier = Verifier({"telemetry-1": key.public_key_b64()})
    cp = sign_checkpoint(key, 7, leaf_hash(b"root"), NOW, run_heads=3)
    assert cp.verify(verifier)
    assert not cp.model_copy(update={"run_heads": 2}).verify(verifier)
    assert not cp.model_copy(update={"run_heads": None}).verify(verifier)


def test_a_checkpoint_from_another_key_does_not_verify():
    trusted, other = signer(), signer()
    cp = sign_checkpoint(other, 7, leaf_hash(b"root"), NOW)
    assert not cp.verify(Verifier({"telemetry-1": trusted.public_key_b64()}))
    assert not cp.verify(Verifier({"telemetry-2": other.public_key_b64()}))
