"""Claim-checked payloads travel in a run's bundle, and a bundle proves them by their hashes."""

from __future__ import annotations

import base64
import uuid

import pytest

from agentdeck.audit import (
    ProofBundle,
    build_bundle,
    log_events,
    root_hash,
    sign_checkpoint,
    sign_run_head,
    verify_bundle,
)
from agentdeck.claimcheck import reference_json
from agentdeck.contracts import Codec, Producer, envelope_for
from agentdeck.contracts.models import Provenance, ToolCallCompleted
from agentdeck.hashing import sha256_hex
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import ArchivedEvent, PayloadRef, StoredPayload
from testkit.archive import NOW, archived_event

RUN = "run-a"


def archived(seq: int, payload: bytes) -> ArchivedEvent:
    return archived_event(seq, RUN, partition=0, payload=payload, headers=())


def completed_by_reference(codec: Codec, data: bytes) -> bytes:
    ref = PayloadRef.of(data)
    event = ToolCallCompleted(
        envelope=envelope_for(
            ToolCallCompleted,
            event_id=f"evt-{uuid.uuid4().hex}",
            tenant="acme",
            producer=Producer(service="tool-executor", version="1"),
            occurred_at=NOW,
            run_id=RUN,
        ),
        tool="http_get",
        idempotency_key="k",
        output_json=reference_json(ref),
        output_hash=sha256_hex(data),
        duration_ms=3,
        provenance=Provenance(source="https://docs.example.com", fetched_at=NOW, tool_version="1"),
    )
    return codec.encode(event)


@pytest.fixture
def document() -> bytes:
    return ('{"body":"' + "a long document " * 2_000 + '"}').encode()


KEY = Signer("telemetry-1", generate_private_key())
TRUSTED = {KEY.key_id: KEY.public_key_b64()}


@pytest.fixture
def bundle(codec: Codec, document: bytes) -> ProofBundle:
    key = KEY
    events = [
        archived(1, b"\xc3\x01 an event without references"),
        archived(2, completed_by_reference(codec, document)),
    ]
    leaves = log_events(events, 0, {})
    cp = sign_checkpoint(key, 2, root_hash([x.leaf_hash for x in leaves]), NOW)
    stored = StoredPayload(sha256_hex(document), "application/json", document)
    head = sign_run_head(key, RUN, tree_size=2, events=2, last_leaf=1, terminal_leaf=None, now=NOW)
    built = build_bundle(
        RUN, events, leaves, cp, key.public_key_b64(), run_head=head, payloads=[stored]
    )
    return ProofBundle.parse(built.model_dump_json())  # as an auditor reads it


def test_a_bundle_carries_and_proves_the_payloads_its_events_reference(bundle, document):
    assert [p.data() for p in bundle.payloads] == [document]
    report = verify_bundle(bundle, trusted_keys=TRUSTED)
    assert report.failures == []
    assert report.payloads == 1


def test_a_payload_altered_by_one_byte_fails_with_its_reference_named(bundle, document):
    payload = bundle.payloads[0]
    flipped = bytearray(payload.data())
    flipped[10] ^= 0x01
    altered = payload.model_copy(update={"data_b64": base64.b64encode(flipped).decode()})
    failures = verify_bundle(
        bundle.model_copy(update={"payloads": [altered]}), trusted_keys=TRUSTED
    ).failures
    event = bundle.events[1].event_id
    assert failures == [
        (
            f"payload sha256:{sha256_hex(document)} referenced by event {event} was altered: "
            f"its bytes hash to sha256:{sha256_hex(bytes(flipped))}"
        )
    ]


def test_a_payload_removed_from_the_bundle_is_reported_missing(bundle, document):
    failures = verify_bundle(
        bundle.model_copy(update={"payloads": []}), trusted_keys=TRUSTED
    ).failures
    event = bundle.events[1].event_id
    digest = sha256_hex(document)
    assert failures == [
        f"payload sha256:{digest} referenced by event {event} is missing from the bundle"
    ]


def test_pointing_the_event_at_another_payload_breaks_the_events_proof(bundle, codec):
    other = b'{"body":"a forged document"}'
    forged = bundle.events[1].model_copy(
        update={"payload_b64": base64.b64encode(completed_by_reference(codec, other)).decode()}
    )
    forged_bundle = bundle.model_copy(update={"events": [bundle.events[0], forged]})
    failures = verify_bundle(forged_bundle, trusted_keys=TRUSTED)
    assert any(
        f"event {forged.event_id} (leaf 1) was altered" in failure for failure in failures.failures
    )
