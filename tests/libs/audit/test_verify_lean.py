"""Verification of the archive read lean (the audit read) finds what the full read finds.

The leaf encoding is pinned against a reference written from its definition,
and a tampered archive gets the same report read either way.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdeck.audit import (
    LEAF_DOMAIN,
    LEAF_V2_DOMAIN,
    AuditReport,
    audit_record,
    event_leaf,
    leaf_bytes,
    log_events,
    record_leaf,
    root_hash,
    sign_checkpoint,
    stored_form,
    stored_leaf,
    verify_log,
)
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import ArchivedEvent, ArchiveRecord, AuditRecord
from testkit.archive import NOW, archived_event

CHUNK = 40
KEY = Signer("telemetry-1", generate_private_key())
VERIFIER = Verifier({KEY.key_id: KEY.public_key_b64()})


def field(value: bytes | None) -> bytes:
    """A field as the leaf encodings write it: absent 0x00, else 0x01, 8-byte length, bytes."""
    return b"\x00" if value is None else b"\x01" + struct.pack(">Q", len(value)) + value


def _reference(event: ArchiveRecord, run_prev: int | None) -> bytes:
    """Leaf version 1 as defined: domain, then each field length-prefixed (None: 0x00)."""

    fields = [
        event.event_id.encode(),
        event.event_type.encode(),
        event.schema_fingerprint.encode(),
        None if event.run_id is None else event.run_id.encode(),
        event.tenant.encode(),
        event.topic.encode(),
        str(event.partition).encode(),
        str(event.offset).encode(),
        event.occurred_at.astimezone(UTC).isoformat().encode(),
        event.archived_at.astimezone(UTC).isoformat().encode(),
        event.payload,
        struct.pack(">Q", len(event.headers)),
    ]
    for key, value in event.headers:
        fields += [key.encode(), value]
    fields.append(None if run_prev is None else str(run_prev).encode())
    return LEAF_DOMAIN + b"".join(field(f) for f in fields)


def _stored(at: datetime) -> bytes:
    """The UTC wall time as SQLite keeps it: four-digit year, microseconds always written."""
    u = at.astimezone(UTC)
    return f"{u.year:04d}-{u:%m-%d %H:%M:%S}.{u.microsecond:06d}".encode()


def _reference_v2(event: ArchiveRecord, run_prev: int | None) -> bytes:
    """Leaf version 2 as defined: domain, the 12 fields' lengths (absent: 2**64 - 1), the
    fields in the archive's stored form one after another, then run_prev in decimal."""
    headers = [[k, None if v is None else base64.b64encode(v).decode()] for k, v in event.headers]
    fields = [
        event.event_id.encode(),
        event.event_type.encode(),
        event.schema_fingerprint.encode(),
        None if event.run_id is None else event.run_id.encode(),
        event.tenant.encode(),
        event.topic.encode(),
        str(event.partition).encode(),
        str(event.offset).encode(),
        _stored(event.occurred_at),
        _stored(event.archived_at),
        event.payload,
        json.dumps(headers).encode(),
    ]
    lengths = [2**64 - 1 if f is None else len(f) for f in fields]
    tail = b"" if run_prev is None else str(run_prev).encode()
    body = b"".join(f or b"" for f in fields)
    return LEAF_V2_DOMAIN + struct.pack(">12Q", *lengths) + body + tail


instants = st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    run_id=st.none() | st.text(max_size=40),
    topic=st.text(max_size=20),
    offset=st.integers(min_value=0, max_value=2**63 - 1),
    occurred_at=instants,
    payload=st.binary(max_size=70_000),
    headers=st.lists(st.tuples(st.text(max_size=8), st.none() | st.binary(max_size=8))),
    run_prev=st.none() | st.integers(min_value=0, max_value=10**12),
)
def test_the_leaf_encoding_is_the_defined_one(
    *,
    run_id: str | None,
    topic: str,
    offset: int,
    occurred_at: datetime,
    payload: bytes,
    headers: list[tuple[str, bytes | None]],
    run_prev: int | None,
) -> None:
    event = dataclasses.replace(
        archived_event(1, "run"),
        run_id=run_id,
        topic=topic,
        offset=offset,
        occurred_at=occurred_at,
        payload=payload,
        headers=tuple(headers),
    )

    assert leaf_bytes(event, run_prev, version=1) == _reference(event, run_prev)
    assert record_leaf(audit_record(event), run_prev) == event_leaf(event, run_prev, version=1)
    assert leaf_bytes(event, run_prev, version=2) == _reference_v2(event, run_prev)
    assert stored_leaf(stored_form(event), run_prev) == event_leaf(event, run_prev, version=2)
    assert stored_form(audit_record(event)) == stored_form(event)


def _archive(n: int) -> list[ArchivedEvent]:
    return [archived_event(seq, f"run-{seq % 7}") for seq in range(1, n + 1)]


def _tampered(archive: list[ArchivedEvent]) -> list[ArchivedEvent]:
    """Altered, deleted, inserted, reordered and truncated."""
    out = list(archive[:-3])  # the last three are cut off
    out[5] = dataclasses.replace(out[5], payload=b"forged")
    del out[CHUNK + 1]
    inserted = dataclasses.replace(archive[9], event_id="evt-inserted", seq=archive[9].seq)
    out.insert(CHUNK + 7, inserted)
    out[2 * CHUNK], out[2 * CHUNK + 1] = out[2 * CHUNK + 1], out[2 * CHUNK]
    return out


def _verify(
    archive: Sequence[ArchivedEvent | AuditRecord], logged: list[ArchivedEvent]
) -> AuditReport:
    leaves = log_events(logged, 0, {})
    cp = sign_checkpoint(KEY, len(leaves), root_hash([leaf.leaf_hash for leaf in leaves]), NOW)
    return verify_log([cp], leaves, archive, VERIFIER)


def test_a_tampered_archive_reads_the_same_in_full_or_lean() -> None:
    logged = _archive(2 * CHUNK + 50)
    archive = _tampered(logged)

    full = _verify(archive, logged)
    lean = _verify([audit_record(e) for e in archive], logged)

    assert full.failures == lean.failures
    assert full.events == lean.events == len(archive)
    text = "\n".join(full.failures)
    for finding in (
        f"event {logged[5].event_id} (leaf 5, seq 6) was altered",
        f"event {logged[CHUNK + 1].event_id} (leaf {CHUNK + 1}, seq {CHUNK + 2}) was deleted",
        "event evt-inserted at seq 10 is in the archive but not in the log",
        "events reordered:",
        "the archive was truncated: the last 3 logged events",
    ):
        assert finding in text


def test_an_intact_archive_read_lean_verifies() -> None:
    logged = _archive(CHUNK + 1)

    report = _verify([audit_record(e) for e in logged], logged)

    assert report.ok, report.failures
    assert report.events == len(logged)


def test_events_archived_after_the_checkpoint_form_the_tail() -> None:
    logged = _archive(CHUNK + 3)
    later = [
        dataclasses.replace(e, archived_at=e.archived_at + timedelta(hours=1))
        for e in _archive(CHUNK + 20)[CHUNK + 3 :]
    ]

    report = _verify([audit_record(e) for e in logged + later], logged)

    assert report.failures == [
        (
            f"17 archived events (seq {CHUNK + 4} on) are not covered by the latest valid "
            f"checkpoint (tree size {CHUNK + 3}, {NOW.isoformat()}): the newest was archived "
            f"{(later[-1].archived_at - NOW).total_seconds():.0f} s after it, more than the "
            "allowed 120 s; checkpointing stopped, or the checkpoints after it were removed"
        )
    ]


class _ListSource:
    """An archive in memory, readable in seq ranges (by forked readers too)."""

    def __init__(self, events: list[ArchivedEvent], *, broken: bool = False) -> None:
        self.events, self.broken = events, broken

    def seq_splits(self, parts: int) -> list[int]:
        seqs = sorted(e.seq for e in self.events)
        return sorted({seqs[len(seqs) * i // parts] for i in range(1, parts)})

    @contextmanager
    def records(self, after_seq: int, through_seq: int | None) -> Iterator[list[AuditRecord]]:
        if self.broken and after_seq > 0:
            raise ValueError("the archive went away")
        end = through_seq if through_seq is not None else 1 << 62
        yield [audit_record(e) for e in self.events if after_seq < e.seq <= end]


def test_an_archive_read_in_ranges_by_forked_readers_finds_what_one_pass_finds() -> None:
    logged = _archive(2 * CHUNK + 50)
    archive = sorted(_tampered(logged), key=lambda e: e.seq)

    one_pass = _verify(archive, logged)
    for processes in (1, 3):
        leaves = log_events(logged, 0, {})
        root = root_hash([leaf.leaf_hash for leaf in leaves])
        cp = sign_checkpoint(KEY, len(leaves), root, NOW)
        ranged = verify_log([cp], leaves, _ListSource(archive), VERIFIER, processes=processes)
        assert ranged.failures == one_pass.failures
        assert ranged.events == one_pass.events


def test_a_range_that_fails_to_read_fails_the_verification() -> None:
    logged = _archive(CHUNK)
    leaves = log_events(logged, 0, {})
    cp = sign_checkpoint(KEY, len(leaves), root_hash([leaf.leaf_hash for leaf in leaves]), NOW)

    with pytest.raises(ValueError, match="the archive went away"):
        verify_log([cp], leaves, _ListSource(logged, broken=True), VERIFIER, processes=2)
