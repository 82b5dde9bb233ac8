"""Claim check: large payloads go by reference, small ones stay inline, references resolve back."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from agentdeck.claimcheck import (
    REFERENCE_PREFIX,
    ClaimCheck,
    encoded_references,
    parse_reference,
    reference_json,
    references,
    resolve_event,
)
from agentdeck.contracts import Producer, envelope_for
from agentdeck.contracts.models import LlmCallRecorded, Provenance, ToolCallCompleted
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.store import (
    PayloadCorruptError,
    PayloadMissingError,
    PayloadRef,
    PayloadsRepository,
    Store,
)
from agentdeck.store._models import PayloadRow

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PRODUCER = Producer(service="test", version="1")


def completed(output: str) -> ToolCallCompleted:
    return ToolCallCompleted(
        envelope=envelope_for(
            ToolCallCompleted,
            event_id=f"evt-{uuid.uuid4().hex}",
            tenant="acme",
            producer=PRODUCER,
            occurred_at=NOW,
            run_id=f"run-{uuid.uuid4().hex}",
        ),
        tool="http_get",
        idempotency_key="k",
        output_json=output,
        output_hash=sha256_hex(output),
        duration_ms=3,
        provenance=Provenance(source="tool:http_get@1.0", fetched_at=NOW, tool_version="1.0"),
    )


def recorded(request: str, response: str) -> LlmCallRecorded:
    return LlmCallRecorded(
        envelope=envelope_for(
            LlmCallRecorded,
            event_id=f"evt-{uuid.uuid4().hex}",
            tenant="acme",
            producer=PRODUCER,
            occurred_at=NOW,
        ),
        model="small",
        request_hash=sha256_hex(request),
        request_json=request,
        response_json=response,
        prompt_tokens=1,
        completion_tokens=1,
        cost_micros=2,
        latency_ms=1,
    )


def big(n: int = 20_000) -> str:
    return canonical_json({"body": "lorem " * (n // 6), "id": uuid.uuid4().hex})


def test_the_reference_is_canonical_json_that_starts_with_the_claim():
    ref = PayloadRef.of(b"{}")
    text = reference_json(ref)
    assert text.startswith(REFERENCE_PREFIX)
    assert json.loads(text) == {"$claim": ref.claim, "bytes": 2, "media_type": "application/json"}
    assert parse_reference(text) == ref


@pytest.mark.parametrize(
    "text",
    ['{"a":1}', "", '{"$claim":"sha256:nothex","bytes":1,"media_type":"x"}', '{"$claim":"sha2'],
)
def test_payloads_and_broken_references_do_not_parse_as_references(text):
    assert parse_reference(text) is None


def test_the_threshold_counts_utf8_bytes_not_characters():
    claims = ClaimCheck(PayloadsRepository(), above_bytes=100)
    assert not claims.needed("a" * 100)
    assert claims.needed("a" * 101)
    assert claims.needed("é" * 51)  # 102 bytes in 51 characters
    assert not claims.needed("é" * 50)
    assert claims.needed(REFERENCE_PREFIX + "not really a reference")  # never mistaken for one


def test_a_large_output_is_stored_once_and_the_event_carries_its_reference(engine):
    store = Store(engine)
    claims = ClaimCheck(store.payloads, above_bytes=16_384)
    output = big()
    event = completed(output)
    with store.transaction() as conn:
        slim = claims.check_in_event(conn, event)
        again = claims.check_in_event(conn, completed(output))
    [ref] = references(slim)
    assert references(again) == [ref]
    assert ref.digest == event.output_hash  # the reference names the hash the event states
    assert ref.size == len(output.encode())
    assert len(slim.output_json) < 200
    with store.transaction(read_only=True) as conn:
        [back] = claims.resolve(conn, [slim])
    assert back == event


def test_small_payloads_stay_inline_and_resolve_is_a_no_op(engine):
    claims = ClaimCheck(Store(engine).payloads, above_bytes=16_384)
    event = recorded('{"messages":[]}', '{"choices":[]}')
    with Store(engine).transaction() as conn:
        assert claims.check_in_event(conn, event) is event
        assert claims.resolve(conn, [event]) == [event]


def test_llm_request_and_response_are_claim_checked_separately(engine):
    store = Store(engine)
    claims = ClaimCheck(store.payloads, above_bytes=1_000)
    event = recorded(big(5_000), '{"choices":[]}')
    with store.transaction() as conn:
        slim = claims.check_in_event(conn, event)
    assert parse_reference(slim.request_json) is not None
    assert slim.response_json == '{"choices":[]}'
    with store.transaction(read_only=True) as conn:
        assert claims.resolve(conn, [slim]) == [event]


def test_resolving_a_tampered_or_missing_payload_fails_by_reference(engine):
    store = Store(engine)
    claims = ClaimCheck(store.payloads, above_bytes=100)
    with store.transaction() as conn:
        slim = claims.check_in_event(conn, completed(big(1_000)))
    [ref] = references(slim)
    with store.transaction() as conn:
        conn.execute(
            PayloadRow.__table__.update()
            .where(PayloadRow.digest == ref.digest)
            .values(data=b'{"body":"forged"}')
        )
    with store.transaction(read_only=True) as conn, pytest.raises(PayloadCorruptError) as err:
        claims.resolve(conn, [slim])
    assert ref.claim in str(err.value)
    with pytest.raises(PayloadMissingError, match=ref.claim):
        resolve_event(slim, {})


def test_references_are_found_in_encoded_events_without_decoding_the_rest(codec):
    ref = PayloadRef.of(b"payload")
    slim = completed(reference_json(ref))
    assert encoded_references(codec.encode(slim), codec) == [ref]
    assert encoded_references(codec.encode(completed('{"a":1}')), codec) == []
    assert encoded_references(b"\xc3\x01 not an event " + REFERENCE_PREFIX.encode(), codec) == []
