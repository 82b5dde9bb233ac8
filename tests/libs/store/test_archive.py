"""Contract: the event archive, on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text

from agentdeck.store import (
    ArchivedEvent,
    ArchiveRecord,
    ArchiveRepository,
    StoreIntegrityError,
    transaction,
)

if TYPE_CHECKING:
    from .conftest import NewId

archive = ArchiveRepository()


def record(event_id: str, run_id: str, at: datetime, offset: int = 0) -> ArchiveRecord:
    return ArchiveRecord(
        event_id=event_id,
        event_type="agentdeck.run.StepCompleted",
        schema_fingerprint="c0ffee00deadbeef",
        run_id=run_id,
        tenant="acme",
        topic="agentdeck.tool-results",
        partition=2,
        offset=offset,
        occurred_at=at,
        archived_at=at + timedelta(milliseconds=5),
        payload=b"\xc3\x01" + event_id.encode(),
        headers=(("traceparent", b"00-abc-def-01"), ("binary", b"\x00\xff"), ("empty", None)),
    )


def batch(new_id: NewId, run_id: str, at: datetime, size: int) -> list[ArchiveRecord]:
    return [record(new_id("evt"), run_id, at, offset=i) for i in range(size)]


def test_append_many_reports_how_many_events_were_new(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    first = batch(new_id, run_id, now, 3)
    with transaction(engine) as conn:
        assert archive.append_many(conn, first) == 3
    with transaction(engine) as conn:
        assert archive.append_many(conn, [*first[1:], record(new_id("evt"), run_id, now)]) == 1


def test_a_batch_repeating_an_event_id_archives_it_once(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    event = record(new_id("evt"), run_id, now)
    with transaction(engine) as conn:
        assert archive.append_many(conn, [event, event, replace(event, offset=9)]) == 1
        assert [e.event_id for e in archive.read_run(conn, run_id)] == [event.event_id]


def test_an_empty_batch_archives_nothing(engine: Engine) -> None:
    with transaction(engine) as conn:
        assert archive.append_many(conn, []) == 0


def test_a_run_reads_back_exactly_as_archived_in_order(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    records = batch(new_id, run_id, now, 4)
    with transaction(engine) as conn:
        archive.append_many(conn, records[:2])
        archive.append_many(conn, [record(new_id("evt"), new_id("other-run"), now)])
        archive.append_many(conn, records[2:])

    with transaction(engine, read_only=True) as conn:
        events = archive.read_run(conn, run_id)

    assert [strip_seq(event) for event in events] == records
    seqs = [event.seq for event in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert all(event.occurred_at.tzinfo is not None for event in events)


def test_iter_from_pages_through_the_archive_in_seq_order(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    records = batch(new_id, run_id, now, 5)
    with transaction(engine) as conn:
        archive.append_many(conn, records)
        start = archive.read_run(conn, run_id)[0].seq - 1

        first = archive.iter_from(conn, start, limit=3)
        second = archive.iter_from(conn, first[-1].seq, limit=3)

    assert [e.event_id for e in first + second][:5] == [r.event_id for r in records]
    assert len(first) == 3
    assert [e.seq for e in first + second] == sorted(e.seq for e in first + second)


def test_iter_from_past_the_end_returns_nothing(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    with transaction(engine) as conn:
        archive.append_many(conn, batch(new_id, new_id("run"), now, 1))
        last = archive.iter_from(conn, 0, limit=1_000_000)[-1].seq
        assert archive.iter_from(conn, last, limit=10) == []


def test_count_grows_by_the_newly_archived_events(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    with transaction(engine) as conn:
        before = archive.count(conn)
        archive.append_many(conn, batch(new_id, new_id("run"), now, 2))
        assert archive.count(conn) == before + 2


def test_a_batch_beyond_one_statements_parameter_limit_is_archived_whole(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    with transaction(engine) as conn:
        assert archive.append_many(conn, batch(new_id, run_id, now, 2_600)) == 2_600
        assert len(archive.read_run(conn, run_id)) == 2_600


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event_archive SET tenant = 'mallory' WHERE event_id = :event_id",
        "DELETE FROM event_archive WHERE event_id = :event_id",
    ],
)
def test_the_database_refuses_to_change_or_delete_archived_events(
    engine: Engine, new_id: NewId, now: datetime, statement: str
) -> None:
    event = record(new_id("evt"), new_id("run"), now)
    with transaction(engine) as conn:
        archive.append_many(conn, [event])

    with pytest.raises(StoreIntegrityError, match="append-only"), transaction(engine) as conn:
        conn.execute(text(statement), {"event_id": event.event_id})

    with transaction(engine) as conn:
        assert [strip_seq(e) for e in archive.read_run(conn, event.run_id or "")] == [event]


def strip_seq(event: ArchivedEvent) -> ArchiveRecord:
    fields = {name: getattr(event, name) for name in ArchiveRecord.__dataclass_fields__}
    return ArchiveRecord(**fields)


def test_events_without_a_run_or_headers_are_archived_too(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    control = [replace(record(new_id("evt"), "", now), run_id=None, headers=()) for _ in range(2)]
    with transaction(engine) as conn:
        assert archive.append_many(conn, control) == 2
        start = archive.iter_from(conn, 0, limit=1_000_000)[-2].seq - 1
        stored = archive.iter_from(conn, start, limit=2)
    assert [strip_seq(event) for event in stored] == control
