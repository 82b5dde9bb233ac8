"""Contract: the archive's lean audit read returns what the full read does, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from agentdeck.audit import audit_record, stored_form
from agentdeck.store import ArchiveRecord, ArchiveRepository, canonical, transaction

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


def _varied(new_id: NewId) -> list[ArchiveRecord]:
    run = new_id("run")
    whole = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    return [
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


def test_the_audit_read_returns_every_event_as_the_full_read_does(
    engine: Engine, new_id: NewId
) -> None:
    records = _varied(new_id)
    with transaction(engine) as conn:
        before = archive.count(conn)
        archive.append_many(conn, records)
        full = archive.iter_from(conn, 0, before + len(records))
        pages = list(archive.audit_pages(conn, page=2))

    assert [len(page) for page in pages][-1] <= 2
    assert [row for page in pages for row in page] == [audit_record(e) for e in full]


def test_the_stored_read_returns_every_event_in_the_form_its_leaf_covers(
    engine: Engine, new_id: NewId
) -> None:
    """The fast proof hashes rows as read: they must be the canonical stored form as is."""
    records = _varied(new_id)
    with transaction(engine) as conn:
        before = archive.count(conn)
        archive.append_many(conn, records)
        full = archive.iter_from(conn, 0, before + len(records))
        mark = full[-6].seq if len(full) > len(records) else 0  # the database may be shared
        pages = list(archive.stored_pages(conn, after_seq=mark, page=2))
        # Text read as bytes for this read only: the connection's other reads are unchanged.
        assert conn.execute(text("SELECT CAST('rün' AS VARCHAR(8))")).scalar_one() == "rün"

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row for page in pages for row in page] == [stored_form(e) for e in full[-5:]]
    # Exactly the types hashed, not values that only compare equal to them (memoryview, str).
    rows = [row for page in pages for row in page]
    assert {type(value) for row in rows for value in row} <= {int, bytes, type(None)}
    assert {type(row) for row in rows} == {tuple}


def test_the_audit_read_starts_after_the_given_seq(engine: Engine, new_id: NewId) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(engine) as conn:
        archive.append_many(conn, [_record(new_id("evt"), None, at) for _ in range(3)])
        full = archive.iter_from(conn, 0, 1_000_000)
        rows = [row for page in archive.audit_pages(conn, after_seq=full[-2].seq) for row in page]

    assert [row.seq for row in rows] == [full[-1].seq]


def test_the_replay_read_splits_the_archive_by_run_and_keeps_seq_order(
    engine: Engine, new_id: NewId
) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    prefix = new_id("split")
    runs = [f"{prefix}-{i}" for i in range(4)]
    records = [_record(new_id("evt"), run, at) for _ in range(3) for run in runs]
    no_run = _record(new_id("evt"), None, at)
    with transaction(engine) as conn:
        archive.append_many(conn, [*records, no_run])
        everything = [row for page in archive.payload_pages(conn, page=5) for row in page]
        below = [
            row
            for page in archive.payload_pages(conn, runs_from=runs[0], runs_before=runs[2])
            for row in page
        ]
        unbounded_below = [
            row for page in archive.payload_pages(conn, runs_before=runs[0]) for row in page
        ]
        splits = archive.run_splits(conn, 3)

    ours = {r.event_id: r for r in [*records, no_run]}
    read = [row for row in everything if row[1] in ours]
    assert [row[0] for row in everything] == sorted(row[0] for row in everything)
    assert read == [
        (mine[0], r.event_id, r.event_type, r.run_id, r.payload)
        for mine, r in zip(read, ours.values(), strict=True)
    ]
    assert all(type(row[4]) is bytes for row in read)
    assert {type(value) for row in read for value in row[1:4]} <= {str, type(None)}
    assert [row[1] for row in below] == [
        r.event_id for r in records if r.run_id in {runs[0], runs[1]}
    ]
    assert no_run.event_id in {row[1] for row in unbounded_below}
    assert no_run.event_id not in {row[1] for row in below}
    assert splits == sorted(set(splits))
    assert len(splits) <= 2


def test_instants_stored_in_another_form_read_as_the_full_read_reads_them(
    engine: Engine, new_id: NewId
) -> None:
    event_id = new_id("evt")
    insert = text(
        "INSERT INTO event_archive (event_id, event_type, schema_fingerprint, run_id, tenant, "
        "topic, kafka_partition, kafka_offset, occurred_at, archived_at, payload, headers) "
        "VALUES (:id, 'agentdeck.events.RunStarted', 'c0ffee00deadbeef', NULL, 'acme', "
        "'agentdeck.runs', 0, 1, :occurred, :archived, :payload, :headers)"
    )
    with transaction(engine) as conn:
        conn.execute(
            insert,
            {
                "id": event_id,
                "occurred": "2026-03-01 12:00:00",
                "archived": "2026-03-01 12:00:00.5",
                "payload": b"\xc3\x01",
                "headers": '[["k",null]]',
            },
        )
        full = [e for e in archive.iter_from(conn, 0, 1_000_000) if e.event_id == event_id]
        lean = [
            row for page in archive.audit_pages(conn) for row in page if row.event_id == event_id
        ]
        stored = [
            row
            for page in archive.stored_pages(conn, after_seq=full[0].seq - 1)
            for row in page
            if row[1] == event_id.encode()
        ]

    assert lean == [audit_record(e) for e in full]
    assert lean[0].headers == (("k", None),)
    assert stored[0] != stored_form(full[0]), "stored in another form than the canonical"
    assert [canonical(row) for row in stored] == [stored_form(e) for e in full]
