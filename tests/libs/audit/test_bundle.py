"""A run's proof bundle checks on its own, and each kind of tampering names itself."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.audit import (
    MerkleTree,
    ProofBundle,
    build_bundle,
    event_leaf,
    sign_checkpoint,
    verify_bundle,
)
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import ArchivedEvent

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def event(seq: int, run_id: str) -> ArchivedEvent:
    return ArchivedEvent(
        seq=seq,
        event_id=f"evt-{uuid.uuid4().hex}",
        event_type="agentdeck.events.ToolCallCompleted",
        schema_fingerprint="c0ffee00deadbeef",
        run_id=run_id,
        tenant="acme",
        topic="agentdeck.tool-results",
        partition=seq % 3,
        offset=seq,
        occurred_at=NOW + timedelta(seconds=seq),
        archived_at=NOW + timedelta(seconds=seq, milliseconds=3),
        payload=b"\xc3\x01" + f"payload {seq}".encode(),
        headers=(("traceparent", b"00-abc-01"), ("empty", None)),
    )


@pytest.fixture
def key() -> Signer:
    return Signer("telemetry-1", generate_private_key())


@pytest.fixture
def archive() -> list[ArchivedEvent]:
    return [event(seq, "run-a" if seq % 3 == 0 else "run-b") for seq in range(1, 20)]


def bundle_of(archive: list[ArchivedEvent], key: Signer, size: int | None = None) -> ProofBundle:
    size = len(archive) if size is None else size
    tree = MerkleTree([event_leaf(e) for e in archive[:size]])
    cp = sign_checkpoint(key, size, tree.root(), NOW)
    picked = [(i, e) for i, e in enumerate(archive[:size]) if e.run_id == "run-a"]
    return build_bundle("run-a", picked, tree, cp, key.public_key_b64())


def failures_of(bundle: ProofBundle) -> list[str]:
    return verify_bundle(ProofBundle.parse(bundle.model_dump_json())).failures


def test_an_untouched_bundle_verifies_on_its_own(archive, key):
    bundle = bundle_of(archive, key)
    assert len(bundle.events) == 6
    assert failures_of(bundle) == []
    assert verify_bundle(bundle, trusted_keys={"telemetry-1": key.public_key_b64()}).ok


def test_flipping_one_payload_byte_names_the_altered_event(archive, key):
    bundle = bundle_of(archive, key)
    victim = bundle.events[2]
    payload = bytearray(base64.b64decode(victim.payload_b64))
    payload[-1] ^= 0x01
    flipped = victim.model_copy(update={"payload_b64": base64.b64encode(payload).decode()})
    events = [*bundle.events[:2], flipped, *bundle.events[3:]]
    failures = failures_of(bundle.model_copy(update={"events": events}))
    assert failures == [
        (
            f"event {victim.event_id} (leaf {victim.leaf_index}) was altered or is not at that "
            "leaf: its inclusion proof does not lead to the checkpoint's root"
        )
    ]


def test_reordering_two_events_is_reported_as_a_reorder(archive, key):
    bundle = bundle_of(archive, key)
    events = list(bundle.events)
    events[1], events[2] = events[2], events[1]
    failures = failures_of(bundle.model_copy(update={"events": events}))
    assert failures == [
        (
            f"events reordered: event {events[2].event_id} (leaf {events[2].leaf_index}) is "
            f"listed after event {events[1].event_id} (leaf {events[1].leaf_index})"
        )
    ]


def test_a_checkpoint_swapped_for_another_genuine_one_is_reported(archive, key):
    bundle = bundle_of(archive, key)
    older = bundle_of(archive, key, size=17).checkpoint
    failures = failures_of(bundle.model_copy(update={"checkpoint": older}))
    assert failures[-1] == (
        "no event's inclusion proof leads to the checkpoint's root: "
        "the checkpoint was swapped for one these proofs were not made against"
    )


def test_an_altered_checkpoint_fails_its_signature(archive, key):
    bundle = bundle_of(archive, key)
    forged = bundle.checkpoint.model_copy(update={"tree_size": 18})
    failures = failures_of(bundle.model_copy(update={"checkpoint": forged}))
    assert failures[0] == (
        "the checkpoint (tree size 18) does not verify under the bundled key 'telemetry-1': "
        "it was altered or swapped"
    )


def test_a_bundle_signed_by_an_untrusted_key_is_refused(archive, key):
    bundle = bundle_of(archive, Signer("telemetry-1", generate_private_key()))
    report = verify_bundle(bundle, trusted_keys={"telemetry-1": key.public_key_b64()})
    assert report.failures == ["the bundled public key is not the trusted key 'telemetry-1'"]


def test_a_bundle_whose_events_were_all_removed_fails(archive, key):
    bundle = bundle_of(archive, key).model_copy(update={"events": []})
    assert failures_of(bundle) == ["the bundle holds no events of run run-a"]


def test_a_truncated_bundle_file_is_not_readable(archive, key):
    text = bundle_of(archive, key).model_dump_json()
    with pytest.raises(ConfigError, match="not a readable proof bundle"):
        ProofBundle.parse(text[: len(text) // 2])
