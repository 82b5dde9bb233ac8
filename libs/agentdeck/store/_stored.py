"""The archive's rows in their stored form: what an audit hashes without decoding a field.

A :data:`StoredBytes` row holds every audited field as bytes in one canonical
text form, which is how SQLite keeps them: instants as the UTC wall time with
microseconds always written (``YYYY-MM-DD HH:MM:SS.ffffff``), headers as the
JSON text :class:`~agentdeck.store.KafkaHeaders` writes (``[[key, base64 value
or null], ...]``, ``json.dumps``'s defaults), ``partition`` and ``offset`` as
decimal text. On SQLite a row is read as stored; on PostgreSQL the query writes
the instants in that form and hands the JSON text over as kept.

:func:`audit_bytes` turns a stored row into the :data:`AuditBytes` the first
leaf encoding hashes (ISO instants, header values decoded), for logs written
before the leaf covered the stored form.
"""

from __future__ import annotations

import json
from binascii import a2b_base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from psycopg.types.string import ByteaBinaryLoader
from sqlalchemy import Connection

from agentdeck.store._dialect import is_postgres
from agentdeck.store._types import stored_headers

__all__ = [
    "AuditBytes",
    "StoredBytes",
    "audit_bytes",
    "canonical",
    "payload_rows",
    "stored_instant",
    "stored_pages",
]


def stored_instant(value: datetime) -> bytes:
    """``value`` in its canonical stored form: the UTC wall time, ``YYYY-MM-DD HH:MM:SS.ffffff``.

    The year has four digits and the microseconds are always written, as SQLite
    keeps them (``strftime``'s ``%Y`` would not pad a year below 1000).
    """
    u = value.astimezone(UTC)
    return b"%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
        u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond
    )  # fmt: skip


AuditBytes = tuple[
    int,  # seq
    bytes,  # event_id
    bytes,  # event_type
    bytes,  # schema_fingerprint
    bytes | None,  # run_id
    bytes,  # tenant
    bytes,  # topic
    bytes,  # partition, as decimal text
    bytes,  # offset, as decimal text
    bytes,  # occurred_at, as UTC ISO text
    bytes,  # archived_at, as UTC ISO text
    bytes,  # payload
    tuple[tuple[bytes, bytes | None], ...],  # headers
]
""":class:`AuditRecord`'s fields, in its order, as the bytes the first leaf encoding takes.

Text as UTF-8, ``partition`` and ``offset`` as decimal text, instants as UTC
ISO text (``isoformat()``), header keys as UTF-8; ``seq`` stays an int.
"""

StoredBytes = tuple[
    int,  # seq
    bytes,  # event_id
    bytes,  # event_type
    bytes,  # schema_fingerprint
    bytes | None,  # run_id
    bytes,  # tenant
    bytes,  # topic
    bytes,  # partition, as decimal text
    bytes,  # offset, as decimal text
    bytes,  # occurred_at, stored form (UTC, microseconds always written)
    bytes,  # archived_at, stored form
    bytes,  # payload
    bytes,  # headers, the stored JSON text
]
"""An archived event's audited fields in their stored form (see the module)."""

_END = 1 << 62

_SQLITE = """
SELECT seq, event_id, event_type, schema_fingerprint, run_id, tenant, topic,
    CAST(kafka_partition AS TEXT), CAST(kafka_offset AS TEXT), occurred_at, archived_at,
    payload, headers
FROM event_archive WHERE seq > ? AND seq <= ? ORDER BY seq
"""

_POSTGRES = """
SELECT seq, event_id, event_type, schema_fingerprint, run_id, tenant, topic,
    kafka_partition::text, kafka_offset::text,
    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
    to_char(archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
    payload, headers::text
FROM event_archive WHERE seq > %s AND seq <= %s ORDER BY seq
"""


def stored_pages(
    conn: Connection, after_seq: int, through_seq: int | None, page: int
) -> Iterator[list[StoredBytes]]:
    """The archive's rows with ``after_seq < seq <= through_seq`` in stored form, by pages.

    One query through the driver's own cursor (server-side on PostgreSQL), so
    the reader sees one snapshot and no per-row conversion but the integers'.
    """
    driver: Any = conn.connection.dbapi_connection
    through = _END if through_seq is None else through_seq
    if is_postgres(conn):
        # In binary, each value as it is: a payload's bytes (not their hex), text as its UTF-8
        # bytes (the form leaves take: not decoded to str and encoded again), seq an integer.
        with driver.cursor(name=f"stored_{after_seq}_{through}", binary=True) as cursor:
            for text_type in ("text", "varchar"):  # this cursor's own loaders
                cursor.adapters.register_loader(text_type, ByteaBinaryLoader)
            cursor.itersize = page
            cursor.execute(_POSTGRES, (after_seq, through))
            while rows := cursor.fetchmany(page):
                yield rows
        return
    saved, driver.text_factory = driver.text_factory, bytes
    cursor = driver.cursor()
    try:
        cursor.execute(_SQLITE, (after_seq, through))
        while rows := cursor.fetchmany(page):
            yield rows
    finally:
        cursor.close()
        driver.text_factory = saved


def audit_bytes(row: StoredBytes) -> AuditBytes | None:
    """``row`` as :data:`AuditBytes`; None where it is not in the canonical stored form.

    An instant's ISO text (``isoformat()``) has a ``T`` for the space and
    ``+00:00`` after, and no fraction when it is zero. Headers are read as
    :class:`~agentdeck.store.KafkaHeaders` reads them.
    """
    occurred, archived = row[9], row[10]
    if (
        len(occurred) != 26
        or len(archived) != 26
        or occurred[10] != 0x20
        or archived[10] != 0x20
        or occurred[19] != 0x2E
        or archived[19] != 0x2E
    ):
        return None
    if occurred.endswith(b".000000"):
        occurred = occurred[:19]
    if archived.endswith(b".000000"):
        archived = archived[:19]
    stored = row[12]
    headers = () if stored == b"[]" else _header_bytes(stored)
    return (
        *row[:9],
        occurred.replace(b" ", b"T") + b"+00:00",
        archived.replace(b" ", b"T") + b"+00:00",
        row[11],
        headers,
    )


def _header_bytes(stored: bytes) -> tuple[tuple[bytes, bytes | None], ...]:
    """Stored headers (``[[key, base64 value or null], ...]``) with keys as UTF-8."""
    pairs = json.loads(stored)
    if all(type(key) is str and type(raw) is str for key, raw in pairs):  # the usual: one pass
        return tuple((key.encode(), a2b_base64(raw)) for key, raw in pairs)
    return tuple((key.encode(), value) for key, value in stored_headers(pairs))


def canonical(row: StoredBytes) -> StoredBytes | None:
    """``row`` with its instants and headers written in the canonical stored form.

    For a row stored some other way (an instant without its microseconds or
    with an offset, headers JSON spaced otherwise): the values the archive's
    readers read from it, in the form the leaf covers. None if a field cannot
    be read at all.
    """
    try:
        occurred, archived = _instant(row[9]), _instant(row[10])
        headers = json.dumps(json.loads(row[12])).encode()
    except ValueError:
        return None
    return (*row[:9], occurred, archived, row[11], headers)


def _instant(stored: bytes) -> bytes:
    instant = datetime.fromisoformat(stored.decode())
    if instant.tzinfo is None:  # SQLite keeps the UTC wall time
        instant = instant.replace(tzinfo=UTC)
    return stored_instant(instant)


PayloadRow = tuple[int, str, str, str | None, bytes]
"""``(seq, event_id, event_type, run_id, payload)``."""

_PAYLOADS_OF = "SELECT seq, event_id, event_type, run_id, payload FROM event_archive"
_PAYLOADS = {
    (False, False): f"{_PAYLOADS_OF} ORDER BY seq",
    (True, False): f"{_PAYLOADS_OF} WHERE run_id >= ? ORDER BY seq",
    (False, True): f"{_PAYLOADS_OF} WHERE (run_id IS NULL OR run_id < ?) ORDER BY seq",
    (True, True): f"{_PAYLOADS_OF} WHERE run_id >= ? AND (run_id IS NULL OR run_id < ?) "
    "ORDER BY seq",
}
"""By which bounds are given (runs from, runs before)."""


def payload_rows(
    conn: Connection, runs_from: str | None, runs_before: str | None, page: int
) -> Iterator[list[PayloadRow]]:
    """Archived events' :data:`PayloadRow` s in ``seq`` order, by pages, through the driver's
    own cursor (server-side on PostgreSQL): no per-row work but the driver's.

    With bounds, only the events of runs whose ids sort in ``[runs_from, runs_before)``;
    events of no run sort before every run id.
    """
    postgres = is_postgres(conn)
    bounds = (runs_from is not None, runs_before is not None)
    params = [bound for bound in (runs_from, runs_before) if bound is not None]
    sql = _PAYLOADS[bounds]
    if postgres:
        sql = sql.replace("?", "%s")
    driver: Any = conn.connection.dbapi_connection
    if postgres:  # in binary: a payload's bytes as they are, not their hex
        with driver.cursor(name=f"payloads_{id(params)}", binary=True) as cursor:
            cursor.itersize = page
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(page):
                yield rows
        return
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(page):
            yield rows
    finally:
        cursor.close()
