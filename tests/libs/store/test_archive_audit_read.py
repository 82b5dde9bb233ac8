"""Contract: the archive's lean audit read returns what the full read does, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from agentdeck.audit import audit_record
from agentdeck.store import ArchiveRecord, ArchiveRepository, transaction

if TYPE_CHECKING:
    from .conftest import NewId

archive = ArchiveRepository()
PLUS_TWO = timezone(timedelta(hours=2))


def _record(event_id: str, run_id: str | None, at: datetime, **fields: object) -> ArchiveRecord:
    values: dict[str, object] = {
        "event_id": event_id,
        "event_type": "agentdeck.events.RunStarted",
        "schema_fingerprint": "c0ffee00deadbeef",
        "run_id": run_id,
        "tenant": "acme",
        "topic": "agentdeck.runs",
        "partition": 1,
        "offset": 7,
        "occurred_at": at,
        "archived_at": at + timedelta(milliseconds=5),
        "payload": b"\xc3\x01" + event_id.encode(),
        "headers": (),
    }
    return ArchiveRecord(**{**values, **fields})  # type: ignore[arg-type]


def test_the_audit_read_returns_every_event_as_the_full_read_does(
    engine: Engine, new_id: NewId
) -> None:
    run = new_id("run")
    whole = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    records = [
        _record(new_id("evt"), run, whole),
        _record(new_id("evt"), run, whole.replace(microsecond=123_456)),
        _record(new_id("evt"), None, whole.astimezone(PLUS_TWO), archived_at=whole),
        _record(
            new_id("evt"),
            "rün-ü",
            whole + timedelta(microseconds=1),
            headers=(("traceparent", b"00-ab"), ("empty", None), ("traceparent", b"")),
        ),
        _record(new_id("evt"), run, datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
    ]
    with transaction(engine) as conn:
        before = archive.count(conn)
        archive.append_many(conn, records)
        full = archive.iter_from(conn, 0, before + len(records))
        pages = list(archive.audit_pages(conn, page=2))

    assert [len(page) for page in pages][-1] <= 2
    assert [row for page in pages for row in page] == [audit_record(e) for e in full]


def test_the_audit_read_starts_after_the_given_seq(engine: Engine, new_id: NewId) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(engine) as conn:
        archive.append_many(conn, [_record(new_id("evt"), None, at) for _ in range(3)])
        full = archive.iter_from(conn, 0, 1_000_000)
        rows = [row for page in archive.audit_pages(conn, after_seq=full[-2].seq) for row in page]

    assert [row.seq for row in rows] == [full[-1].seq]
