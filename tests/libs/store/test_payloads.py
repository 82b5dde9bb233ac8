"""The payload store: content-addressed, stored once, checked on every read, on every backend."""

import hashlib

import pytest
from sqlalchemy import func, select, update

from agentdeck.store import (
    PayloadCorruptError,
    PayloadMissingError,
    PayloadRef,
    PayloadsRepository,
    transaction,
)
from agentdeck.store._models import PayloadRow

PAYLOADS = PayloadsRepository()


def _rows(conn, digest):  # type: ignore[no-untyped-def]
    stmt = select(func.count()).select_from(PayloadRow).where(PayloadRow.digest == digest)
    return conn.execute(stmt).scalar_one()


def test_a_payload_is_keyed_by_its_sha256_and_reads_back(engine, new_id):
    data = f'{{"doc": "{new_id("doc")}", "text": "{"x" * 20_000}"}}'.encode()
    with transaction(engine) as conn:
        ref = PAYLOADS.put(conn, data)
    assert ref == PayloadRef(hashlib.sha256(data).hexdigest(), len(data), "application/json")
    assert ref.claim == f"sha256:{ref.digest}"
    with transaction(engine, read_only=True) as conn:
        assert PAYLOADS.get(conn, ref) == data


def test_identical_payloads_are_stored_once(engine, new_id):
    data = new_id("same").encode() * 100
    with transaction(engine) as conn:
        first = PAYLOADS.put(conn, data)
    with transaction(engine) as conn:
        second = PAYLOADS.put(conn, data, media_type="text/plain")
        assert _rows(conn, first.digest) == 1
    assert first.digest == second.digest


def test_get_many_reads_several_in_one_go(engine, new_id):
    blobs = [new_id(f"blob{n}").encode() for n in range(3)]
    with transaction(engine) as conn:
        refs = [PAYLOADS.put(conn, b) for b in blobs]
    with transaction(engine, read_only=True) as conn:
        found = PAYLOADS.get_many(conn, refs)
    assert found == {ref.digest: blob for ref, blob in zip(refs, blobs, strict=True)}


def test_a_reference_to_nothing_raises_payload_missing(engine, new_id):
    ref = PayloadRef.of(new_id("never-stored").encode())
    with transaction(engine, read_only=True) as conn, pytest.raises(PayloadMissingError) as err:
        PAYLOADS.get(conn, ref)
    assert ref.claim in str(err.value)


def test_a_payload_altered_in_the_database_fails_its_hash_check_by_name(engine, new_id):
    data = new_id("victim").encode() * 50
    with transaction(engine) as conn:
        ref = PAYLOADS.put(conn, data)
    altered = bytes([data[0] ^ 0x01]) + data[1:]
    with transaction(engine) as conn:
        conn.execute(update(PayloadRow).where(PayloadRow.digest == ref.digest).values(data=altered))
    with transaction(engine, read_only=True) as conn:
        with pytest.raises(PayloadCorruptError) as err:
            PAYLOADS.get(conn, ref)
        raw = PAYLOADS.fetch(conn, [ref.digest])[ref.digest]
    message = str(err.value)
    assert f"payload {ref.claim} was altered" in message
    assert hashlib.sha256(altered).hexdigest() in message
    assert not raw.intact
    assert raw.data == altered


def test_a_reference_checks_its_own_shape():
    with pytest.raises(ValueError, match="SHA-256"):
        PayloadRef("not-a-digest", 1)
    with pytest.raises(ValueError, match="negative"):
        PayloadRef("0" * 64, -1)
