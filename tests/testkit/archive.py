"""Synthetic archived events for the audit and telemetry tests: valid rows, no real broker."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from agentdeck.store import ArchivedEvent, ArchiveRecord, Headers

__all__ = ["NOW", "archive_records", "archived_event"]

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_TRACE: Headers = (("traceparent", b"00-abc-01"),)


def _record(
    i: int, run_id: str, *, partition: int | None, payload: bytes | None, headers: Headers
) -> ArchiveRecord:
    return ArchiveRecord(
        event_id=f"evt-{uuid.uuid4().hex}",
        event_type="agentdeck.events.ToolCallCompleted",
        schema_fingerprint="c0ffee00deadbeef",
        run_id=run_id,
        tenant="acme",
        topic="agentdeck.tool-results",
        partition=i % 3 if partition is None else partition,
        offset=i,
        occurred_at=NOW + timedelta(seconds=i),
        archived_at=NOW + timedelta(seconds=i, milliseconds=2),
        payload=b"\xc3\x01" + f"{run_id} payload {i}".encode() if payload is None else payload,
        headers=headers,
    )


def archive_records(
    n: int, run_id: str, *, partition: int | None = None, headers: Headers = _TRACE
) -> list[ArchiveRecord]:
    """``n`` events of ``run_id`` as received (partition ``i % 3`` unless given)."""
    return [
        _record(i, run_id, partition=partition, payload=None, headers=headers) for i in range(n)
    ]


def archived_event(
    seq: int,
    run_id: str,
    *,
    partition: int | None = None,
    payload: bytes | None = None,
    headers: Headers = _TRACE,
) -> ArchivedEvent:
    """One event as the archive returns it, at position ``seq``."""
    made = _record(seq, run_id, partition=partition, payload=payload, headers=headers)
    return ArchivedEvent(seq=seq, **asdict(made))
