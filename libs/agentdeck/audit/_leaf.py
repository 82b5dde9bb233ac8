"""What one leaf of the archive's Merkle log covers: every stored field of an event but its seq.

``seq`` is left out so that an event moved to another position still hashes
the same and verification can say it was reordered rather than altered. The
leaf also covers ``run_prev``, the leaf index of the previous event of the same
run: a run's events form a chain, so a proof bundle missing one of them shows
the gap.

Two encodings, each under its own domain; a log records which one each leaf
uses. Version 2 (what logs write now) takes the fields in the archive's
stored form (:data:`~agentdeck.store.StoredBytes`: instants as the UTC wall
time with microseconds, headers as their stored JSON text), so an intact
archive is proven by hashing its rows as read. Version 1 took instants as ISO
text and header values decoded; logs written with it verify as they were.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from json import dumps
from struct import Struct

from agentdeck.audit._merkle import leaf_hash
from agentdeck.store import (
    ArchivedEvent,
    ArchiveRecord,
    AuditBytes,
    AuditRecord,
    StoredBytes,
    stored_instant,
)

__all__ = [
    "LEAF_DOMAIN",
    "LEAF_V2_DOMAIN",
    "LEAF_VERSION",
    "LoggedLeaf",
    "audit_record",
    "event_leaf",
    "leaf_bytes",
    "log_events",
    "record_leaf",
    "stored_form",
    "stored_leaf",
    "stored_leaves",
]

LEAF_DOMAIN = b"agentdeck.archive.leaf.v1"
LEAF_V2_DOMAIN = b"agentdeck.archive.leaf.v2"
LEAF_VERSION = 2
"""The encoding new leaves use."""
_HASHED_HEAD = b"\x00" + LEAF_DOMAIN  # a leaf hash's 0x00 (RFC 6962), then the domain
_HASHED_HEAD_V2 = b"\x00" + LEAF_V2_DOMAIN
_ABSENT = b"\x00"


class _Prefixes(dict[int, bytes]):
    """``0x01`` and the 8-byte big-endian length a present field starts with, by length."""

    def __missing__(self, length: int) -> bytes:
        prefix = b"\x01" + length.to_bytes(8, "big")
        if length < 1 << 16:  # a bounded cache: the common lengths
            self[length] = prefix
        return prefix


_PREFIX = _Prefixes()


def _field(value: bytes | None) -> bytes:
    return _ABSENT if value is None else _PREFIX[len(value)] + value


def _encode(row: AuditBytes, run_prev: int | None, head: bytes = LEAF_DOMAIN) -> bytes:
    """The leaf bytes of ``row``: each field length-prefixed (``_field``), written out flat.

    ``head`` leads; :func:`record_leaf` puts the leaf hash's ``0x00`` before the
    domain there, so the bytes are hashed without another copy.
    """
    p = _PREFIX
    eid, etype, fp, tenant, topic = row[1], row[2], row[3], row[5], row[6]
    partition, offset, occurred, archived, payload = row[7], row[8], row[9], row[10], row[11]
    headers = row[12]
    parts = [
        head,
        p[len(eid)], eid,
        p[len(etype)], etype,
        p[len(fp)], fp,
        _field(row[4]),
        p[len(tenant)], tenant,
        p[len(topic)], topic,
        p[len(partition)], partition,
        p[len(offset)], offset,
        p[len(occurred)], occurred,
        p[len(archived)], archived,
        p[len(payload)], payload,
        p[8], len(headers).to_bytes(8, "big"),
    ]  # fmt: skip
    for key, value in headers:
        parts += (_field(key), _field(value))
    parts.append(_ABSENT if run_prev is None else _field(b"%d" % run_prev))
    return b"".join(parts)


_LENGTHS = Struct(">12Q").pack
_NO_RUN = (1 << 64) - 1
"""The length written for an absent ``run_id``."""


def _encode_v2(row: StoredBytes, run_prev: int | None, head: bytes = LEAF_V2_DOMAIN) -> bytes:
    """The version 2 leaf bytes of ``row`` (see :func:`stored_leaves`)."""
    return b"".join(_parts_v2(row, b"" if run_prev is None else b"%d" % run_prev, head))


def _parts_v2(row: StoredBytes, prev: bytes, head: bytes) -> tuple[bytes, ...]:
    _, eid, etype, fp, run, tenant, topic, partition, offset, occurred, archived, body, hdrs = row
    lengths = _LENGTHS(
        len(eid), len(etype), len(fp), _NO_RUN if run is None else len(run), len(tenant),
        len(topic), len(partition), len(offset), len(occurred), len(archived), len(body),
        len(hdrs),
    )  # fmt: skip
    return (
        head, lengths, eid, etype, fp, run or b"", tenant, topic, partition, offset,
        occurred, archived, body, hdrs, prev,
    )  # fmt: skip


def stored_leaves(rows: Sequence[StoredBytes], run_prevs: Sequence[int]) -> list[bytes]:
    """The version 2 leaf hashes of ``rows`` (events read in their stored form).

    ``run_prevs``: each row's ``run_prev``, -1 for none. A version 2 leaf's bytes
    are the domain, the 12 fields' lengths (8 bytes each, big-endian; an absent
    ``run_id`` as 2**64 - 1), the fields themselves one after another, then
    ``run_prev`` in decimal (nothing for none).
    """
    sha, head, parts, join = sha256, _HASHED_HEAD_V2, _parts_v2, b"".join
    return [
        sha(join(parts(row, b"" if prev < 0 else b"%d" % prev, head))).digest()
        for row, prev in zip(rows, run_prevs, strict=True)
    ]


def stored_form(event: ArchiveRecord | AuditRecord) -> StoredBytes:
    """``event``'s fields in the archive's canonical stored form (what version 2 covers)."""
    if isinstance(event, AuditRecord):
        occurred = stored_instant(datetime.fromisoformat(event.occurred_at))
        archived = stored_instant(datetime.fromisoformat(event.archived_at))
        seq = event.seq
    else:
        occurred, archived = stored_instant(event.occurred_at), stored_instant(event.archived_at)
        seq = event.seq if isinstance(event, ArchivedEvent) else 0
    headers = [
        [key, None if value is None else b64encode(value).decode()] for key, value in event.headers
    ]
    return (
        seq,
        event.event_id.encode(),
        event.event_type.encode(),
        event.schema_fingerprint.encode(),
        None if event.run_id is None else event.run_id.encode(),
        event.tenant.encode(),
        event.topic.encode(),
        b"%d" % event.partition,
        b"%d" % event.offset,
        occurred,
        archived,
        bytes(event.payload),
        dumps(headers).encode(),
    )


@dataclass(frozen=True, slots=True)
class LoggedLeaf:
    """One leaf as the log recorded it.

    Attributes:
        index: Position in the log.
        seq: The archived event's ``seq`` when it was logged.
        event_id: The archived event's id.
        leaf_hash: Its RFC 6962 leaf hash.
        run_prev: Leaf index of the previous event of the same run (None: first, or no run).
        version: The leaf encoding (1 or 2).
    """

    index: int
    seq: int
    event_id: str
    leaf_hash: bytes
    run_prev: int | None = None
    version: int = LEAF_VERSION


def audit_record(event: ArchiveRecord) -> AuditRecord:
    """``event`` as the archive's lean audit read returns it (instants as UTC ISO text)."""
    return AuditRecord(
        event.seq if isinstance(event, ArchivedEvent) else 0,
        event.event_id,
        event.event_type,
        event.schema_fingerprint,
        event.run_id,
        event.tenant,
        event.topic,
        event.partition,
        event.offset,
        event.occurred_at.astimezone(UTC).isoformat(),
        event.archived_at.astimezone(UTC).isoformat(),
        event.payload,
        event.headers,
    )


def leaf_bytes(
    event: ArchiveRecord, run_prev: int | None = None, *, version: int = LEAF_VERSION
) -> bytes:
    """The unambiguous byte encoding of ``event`` (length-prefixed fields, domain first)."""
    if version == 1:
        return _encode(audit_record(event).as_bytes(), run_prev)
    if version == 2:
        return _encode_v2(stored_form(event), run_prev)
    raise ValueError(f"unknown leaf version {version}")


def event_leaf(
    event: ArchiveRecord, run_prev: int | None = None, *, version: int = LEAF_VERSION
) -> bytes:
    """The RFC 6962 leaf hash of ``event`` (chained to leaf ``run_prev`` of its run)."""
    return leaf_hash(leaf_bytes(event, run_prev, version=version))


def record_leaf(row: AuditRecord | AuditBytes, run_prev: int | None = None) -> bytes:
    """:func:`event_leaf` of an event read by the archive's lean audit read (either form)."""
    fields = row.as_bytes() if isinstance(row, AuditRecord) else row
    return sha256(_encode(fields, run_prev, _HASHED_HEAD)).digest()  # = leaf_hash(leaf bytes)


def stored_leaf(row: StoredBytes, run_prev: int | None = None) -> bytes:
    """The version 2 leaf hash of an event read in its stored form (see :func:`stored_leaves`)."""
    return sha256(_encode_v2(row, run_prev, _HASHED_HEAD_V2)).digest()


def log_events(
    events: Sequence[ArchivedEvent],
    first: int,
    last_of_run: MutableMapping[str, int],
    *,
    version: int = LEAF_VERSION,
) -> list[LoggedLeaf]:
    """The leaves of ``events`` appended from index ``first``.

    Args:
        events: Archived events in ``seq`` order.
        first: Index of the first new leaf (the log's size).
        last_of_run: Leaf index of each run's latest logged event; updated in place.
        version: The leaf encoding (logs written before version 2 used 1).
    """
    leaves = []
    for index, event in enumerate(events, start=first):
        prev = None
        if event.run_id is not None:
            prev = last_of_run.get(event.run_id)
            last_of_run[event.run_id] = index
        leaf = event_leaf(event, prev, version=version)
        leaves.append(LoggedLeaf(index, event.seq, event.event_id, leaf, prev, version))
    return leaves
