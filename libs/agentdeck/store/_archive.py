"""The event archive: an append-only log of every event, in global order."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    String,
    func,
    select,
    text,
    type_coerce,
)

from agentdeck.store._dialect import bulk_insert_new, is_postgres
from agentdeck.store._models import ArchiveRow
from agentdeck.store._stored import AuditBytes, PayloadRow, StoredBytes, payload_rows, stored_pages
from agentdeck.store._types import Headers

if TYPE_CHECKING:
    from agentdeck.store._dialect import AnySelect

__all__ = [
    "ArchiveRecord",
    "ArchiveRepository",
    "ArchivedEvent",
    "AuditBytes",
    "AuditRecord",
    "StoredBytes",
]

# Key of the PostgreSQL advisory lock that orders archive writers (see append_many).
ARCHIVE_WRITE_LOCK = 0x61726368_69766531


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveRecord:
    """One event as received from Kafka, ready to archive.

    Attributes:
        event_id: The envelope's event id; the archive keeps one row per id.
        event_type: Fully qualified event type name.
        schema_fingerprint: Hex CRC-64-AVRO fingerprint of the writer schema.
        run_id: The run the event belongs to, if any.
        tenant: Tenant named in the envelope.
        topic: Kafka topic it was read from.
        partition: Kafka partition it was read from.
        offset: Kafka offset it was read at.
        occurred_at: When the producer says it happened (timezone-aware).
        archived_at: When the archiver received it (timezone-aware).
        payload: The exact encoded message value.
        headers: The Kafka headers, in order.
    """

    event_id: str
    event_type: str
    schema_fingerprint: str
    run_id: str | None
    tenant: str
    topic: str
    partition: int
    offset: int
    occurred_at: datetime
    archived_at: datetime
    payload: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedEvent(ArchiveRecord):
    """An archived event with its position in the global order.

    Attributes:
        seq: Position in the archive; strictly increasing in commit order.
    """

    seq: int


class AuditRecord(NamedTuple):
    """An archived event as the audit hashes it: every field, instants as UTC ISO text.

    What :meth:`ArchiveRepository.audit_pages` yields: a plain tuple, read with no
    per-row objects or timezone arithmetic, so a month of archive streams fast.

    Attributes:
        seq: Position in the archive.
        event_id: The envelope's event id.
        event_type: Fully qualified event type name.
        schema_fingerprint: Hex CRC-64-AVRO fingerprint of the writer schema.
        run_id: The run the event belongs to, if any.
        tenant: Tenant named in the envelope.
        topic: Kafka topic it was read from.
        partition: Kafka partition it was read from.
        offset: Kafka offset it was read at.
        occurred_at: ``occurred_at.astimezone(UTC).isoformat()`` of the archived event.
        archived_at: ``archived_at.astimezone(UTC).isoformat()`` of the archived event.
        payload: The exact encoded message value.
        headers: The Kafka headers, in order.
    """

    seq: int
    event_id: str
    event_type: str
    schema_fingerprint: str
    run_id: str | None
    tenant: str
    topic: str
    partition: int
    offset: int
    occurred_at: str
    archived_at: str
    payload: bytes
    headers: Headers

    def as_bytes(self) -> AuditBytes:
        """This record's fields as the leaf encoding takes them."""
        return (
            self.seq,
            self.event_id.encode(),
            self.event_type.encode(),
            self.schema_fingerprint.encode(),
            None if self.run_id is None else self.run_id.encode(),
            self.tenant.encode(),
            self.topic.encode(),
            str(self.partition).encode(),
            str(self.offset).encode(),
            self.occurred_at.encode(),
            self.archived_at.encode(),
            self.payload,
            tuple((key.encode(), value) for key, value in self.headers),
        )


_COLUMNS = (
    ArchiveRow.seq,
    ArchiveRow.event_id,
    ArchiveRow.event_type,
    ArchiveRow.schema_fingerprint,
    ArchiveRow.run_id,
    ArchiveRow.tenant,
    ArchiveRow.topic,
    ArchiveRow.kafka_partition.label("partition"),
    ArchiveRow.kafka_offset.label("offset"),
    ArchiveRow.occurred_at,
    ArchiveRow.archived_at,
    ArchiveRow.payload,
    ArchiveRow.headers,
)
_INSERT_COLUMNS = (
    "event_id",
    "event_type",
    "schema_fingerprint",
    "run_id",
    "tenant",
    "topic",
    "kafka_partition",
    "kafka_offset",
    "occurred_at",
    "archived_at",
    "payload",
    "headers",
)


class ArchiveRepository:
    """Appends to and reads the event archive. Stateless; pass the connection."""

    def append_many(self, conn: Connection, records: Sequence[ArchiveRecord]) -> int:
        """Archive ``records``, skipping event ids already archived.

        One ``INSERT ... ON CONFLICT (event_id) DO NOTHING`` per batch (on SQLite,
        batches beyond the bound-parameter limit are split). On
        PostgreSQL, writers also take a transaction-scoped advisory lock, so
        ``seq`` values become visible in increasing order and a reader tailing
        with :meth:`iter_from` never skips a row that commits late.

        Args:
            conn: Connection inside the caller's transaction.
            records: Events to archive, in the order they should receive ``seq``.

        Returns:
            How many records were newly archived.
        """
        return len(self.append_new(conn, records))

    def append_new(self, conn: Connection, records: Sequence[ArchiveRecord]) -> list[str]:
        """:meth:`append_many`, returning the ids of the events archived for the first time."""
        if not records:
            return []
        if is_postgres(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ARCHIVE_WRITE_LOCK})
        rows = [_to_row(record) for record in records]
        return bulk_insert_new(conn, ArchiveRow, _INSERT_COLUMNS, rows, "event_id")

    def payloads_of(self, conn: Connection, event_ids: Collection[str]) -> dict[str, bytes]:
        """The archived bytes of the known events among ``event_ids``, by event id."""
        if not event_ids:
            return {}
        stmt = select(ArchiveRow.event_id, ArchiveRow.payload).where(
            ArchiveRow.event_id.in_(list(event_ids))
        )
        return {event_id: bytes(payload) for event_id, payload in conn.execute(stmt)}

    def last_archived_at(self, conn: Connection) -> datetime | None:
        """When the newest archived event was archived; None for an empty archive."""
        stmt = select(ArchiveRow.archived_at).order_by(ArchiveRow.seq.desc()).limit(1)
        return conn.execute(stmt).scalar_one_or_none()

    def known(self, conn: Connection, event_ids: Collection[str]) -> set[str]:
        """The ids among ``event_ids`` the archive holds."""
        if not event_ids:
            return set()
        stmt = select(ArchiveRow.event_id).where(ArchiveRow.event_id.in_(list(event_ids)))
        return set(conn.execute(stmt).scalars())

    def read_run(self, conn: Connection, run_id: str) -> list[ArchivedEvent]:
        """Every archived event of ``run_id``, in ``seq`` order."""
        stmt = select(*_COLUMNS).where(ArchiveRow.run_id == run_id)
        return _fetch(conn, stmt.order_by(ArchiveRow.seq))

    def event_ids_of_runs(self, conn: Connection, run_ids: Collection[str]) -> dict[str, list[str]]:
        """The ids of every archived event of each of ``run_ids``, in ``seq`` order."""
        found: dict[str, list[str]] = {}
        if not run_ids:
            return found
        stmt = (
            select(ArchiveRow.run_id, ArchiveRow.event_id)
            .where(ArchiveRow.run_id.in_(list(run_ids)))
            .order_by(ArchiveRow.seq)
        )
        for run_id, event_id in conn.execute(stmt):
            found.setdefault(run_id or "", []).append(event_id)
        return found

    def iter_from(self, conn: Connection, after_seq: int, limit: int) -> list[ArchivedEvent]:
        """One page of the archive: up to ``limit`` events with ``seq > after_seq``.

        Call again with the last event's ``seq`` to read on; an empty list means
        the reader has caught up.
        """
        stmt = select(*_COLUMNS).where(ArchiveRow.seq > after_seq)
        return _fetch(conn, stmt.order_by(ArchiveRow.seq).limit(limit))

    def audit_pages(
        self,
        conn: Connection,
        *,
        after_seq: int = 0,
        through_seq: int | None = None,
        page: int = 20_000,
    ) -> Iterator[list[AuditRecord]]:
        """The archive after ``after_seq`` (up to ``through_seq``, or on), ``page`` rows at a time.

        One streamed query (a server-side cursor on PostgreSQL), so the reader
        sees one snapshot however long it takes; rows come as
        :class:`AuditRecord` tuples, converted without the ORM type machinery.
        """
        convert = _audit_converter(conn.dialect)
        stmt = select(*_AUDIT_COLUMNS).where(ArchiveRow.seq > after_seq)
        if through_seq is not None:
            stmt = stmt.where(ArchiveRow.seq <= through_seq)
        stmt = stmt.order_by(ArchiveRow.seq).execution_options(yield_per=page)
        for rows in conn.execute(stmt).partitions():
            yield [convert(row) for row in rows]

    def stored_pages(
        self,
        conn: Connection,
        *,
        after_seq: int = 0,
        through_seq: int | None = None,
        page: int = 5_000,
    ) -> Iterator[list[StoredBytes]]:
        """The archive after ``after_seq`` (up to ``through_seq``, or on) in its stored form.

        What the leaf over the stored row hashes as read (see :data:`StoredBytes`):
        one streamed query, ``page`` rows at a time, no field decoded.
        """
        return stored_pages(conn, after_seq, through_seq, page)

    def payload_pages(
        self,
        conn: Connection,
        *,
        runs_from: str | None = None,
        runs_before: str | None = None,
        page: int = 20_000,
    ) -> Iterator[Sequence[PayloadRow]]:
        """``(seq, event_id, event_type, run_id, payload)`` of archived events, in ``seq`` order.

        What replay needs and nothing else, streamed ``page`` rows at a time.
        With bounds, only the events of runs whose ids sort in ``[runs_from,
        runs_before)``; events of no run sort before every run id.
        """
        return payload_rows(conn, runs_from, runs_before, page)

    def seq_splits(self, conn: Connection, parts: int) -> list[int]:
        """Seqs that split the archive into ``parts`` ranges of about equal events.

        Increasing, at most ``parts - 1`` of them: range ``i`` is ``(splits[i - 1],
        splits[i]]``, the first starts at the beginning and the last runs to the end.
        """
        total = self.count(conn)
        splits: list[int] = []
        for part in range(1, parts):
            at = select(ArchiveRow.seq).order_by(ArchiveRow.seq)
            seq = conn.execute(at.offset(total * part // parts).limit(1)).scalar_one_or_none()
            if seq is not None and (not splits or seq > splits[-1]):
                splits.append(seq)
        return splits

    def run_splits(self, conn: Connection, parts: int) -> list[str]:
        """Run ids that split the archive into ``parts`` run ranges of about equal events.

        Sorted, at most ``parts - 1`` of them, for :meth:`payload_pages` bounds.
        """
        with_run = (
            select(func.count()).select_from(ArchiveRow).where(ArchiveRow.run_id.is_not(None))
        )
        total = conn.execute(with_run).scalar_one()
        splits: list[str] = []
        for part in range(1, parts):
            at = select(ArchiveRow.run_id).where(ArchiveRow.run_id.is_not(None))
            at = at.order_by(ArchiveRow.run_id).offset(total * part // parts).limit(1)
            run_id = conn.execute(at).scalar_one_or_none()
            if run_id is not None and (not splits or run_id > splits[-1]):
                splits.append(run_id)
        return splits

    def latest_of_type(
        self, conn: Connection, event_type: str, *, since: datetime, limit: int
    ) -> list[ArchivedEvent]:
        """Up to ``limit`` events of ``event_type`` that occurred since ``since``, newest first."""
        stmt = select(*_COLUMNS).where(
            ArchiveRow.event_type == event_type, ArchiveRow.occurred_at >= since
        )
        return _fetch(conn, stmt.order_by(ArchiveRow.seq.desc()).limit(limit))

    def count(self, conn: Connection) -> int:
        """Number of archived events."""
        return conn.execute(select(func.count()).select_from(ArchiveRow)).scalar_one()


def _to_row(record: ArchiveRecord) -> dict[str, Any]:
    return {
        "event_id": record.event_id,
        "event_type": record.event_type,
        "schema_fingerprint": record.schema_fingerprint,
        "run_id": record.run_id,
        "tenant": record.tenant,
        "topic": record.topic,
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "occurred_at": record.occurred_at,
        "archived_at": record.archived_at,
        "payload": record.payload,
        "headers": record.headers,
    }


def _fetch(conn: Connection, stmt: AnySelect) -> list[ArchivedEvent]:
    return [ArchivedEvent(**row) for row in conn.execute(stmt).mappings()]


# The instants and headers come raw from the driver (no result processing);
# _audit_converter turns them into AuditRecord's text, falling back to the
# columns' own processors for anything but the common stored forms.
_AUDIT_COLUMNS = (
    *_COLUMNS[:9],
    type_coerce(ArchiveRow.occurred_at, String),
    type_coerce(ArchiveRow.archived_at, String),
    ArchiveRow.payload,
    type_coerce(ArchiveRow.headers, String),
)


def _processor(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any]:
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return process if process is not None else (lambda value: value)


def _audit_converter(dialect: Dialect) -> Callable[[Any], AuditRecord]:
    table = ArchiveRow.__table__.c
    exact_instant = _processor(table.occurred_at, dialect)
    exact_headers = _processor(table.headers, dialect)
    make = AuditRecord._make

    def iso(value: Any) -> str:
        if isinstance(value, str) and len(value) == 26 and value[10] == " " and value[19] == ".":
            # SQLite's stored form: the UTC wall time, microseconds always written.
            fraction = "" if value.endswith(".000000") else value[19:]
            return f"{value[:10]}T{value[11:19]}{fraction}+00:00"
        instant: datetime = exact_instant(value)
        return instant.astimezone(UTC).isoformat()

    def convert(row: Any) -> AuditRecord:
        headers = row[12]
        pairs = () if headers in ("[]", []) else exact_headers(headers)
        instants = iso(row[9]), iso(row[10])
        return make((*row[:9], *instants, bytes(row[11]), pairs))

    return convert
