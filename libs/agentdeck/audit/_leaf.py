"""What one leaf of the archive's Merkle log covers: every stored field of an event but its seq.

``seq`` is left out so that an event moved to another position still hashes
the same and verification can say it was reordered rather than altered. The
leaf also covers ``run_prev``, the leaf index of the previous event of the same
run: a run's events form a chain, so a proof bundle missing one of them shows
the gap.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from hashlib import sha256

from agentdeck.audit._merkle import leaf_hash
from agentdeck.store import ArchivedEvent, ArchiveRecord, AuditBytes, AuditRecord

__all__ = [
    "LEAF_DOMAIN",
    "LoggedLeaf",
    "audit_record",
    "event_leaf",
    "leaf_bytes",
    "log_events",
    "record_leaf",
]

LEAF_DOMAIN = b"agentdeck.archive.leaf.v1"
_HASHED_HEAD = b"\x00" + LEAF_DOMAIN  # a leaf hash's 0x00 (RFC 6962), then the domain
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


@dataclass(frozen=True, slots=True)
class LoggedLeaf:
    """One leaf as the log recorded it.

    Attributes:
        index: Position in the log.
        seq: The archived event's ``seq`` when it was logged.
        event_id: The archived event's id.
        leaf_hash: Its RFC 6962 leaf hash.
        run_prev: Leaf index of the previous event of the same run (None: first, or no run).
    """

    index: int
    seq: int
    event_id: str
    leaf_hash: bytes
    run_prev: int | None = None


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


def leaf_bytes(event: ArchiveRecord, run_prev: int | None = None) -> bytes:
    """The unambiguous byte encoding of ``event`` (length-prefixed fields, domain first)."""
    return _encode(audit_record(event).as_bytes(), run_prev)


def event_leaf(event: ArchiveRecord, run_prev: int | None = None) -> bytes:
    """The RFC 6962 leaf hash of ``event`` (chained to leaf ``run_prev`` of its run)."""
    return leaf_hash(leaf_bytes(event, run_prev))


def record_leaf(row: AuditRecord | AuditBytes, run_prev: int | None = None) -> bytes:
    """:func:`event_leaf` of an event read by the archive's lean audit read (either form)."""
    fields = row.as_bytes() if isinstance(row, AuditRecord) else row
    return sha256(_encode(fields, run_prev, _HASHED_HEAD)).digest()  # = leaf_hash(leaf bytes)


def log_events(
    events: Sequence[ArchivedEvent], first: int, last_of_run: MutableMapping[str, int]
) -> list[LoggedLeaf]:
    """The leaves of ``events`` appended from index ``first``.

    Args:
        events: Archived events in ``seq`` order.
        first: Index of the first new leaf (the log's size).
        last_of_run: Leaf index of each run's latest logged event; updated in place.
    """
    leaves = []
    for index, event in enumerate(events, start=first):
        prev = None
        if event.run_id is not None:
            prev = last_of_run.get(event.run_id)
            last_of_run[event.run_id] = index
        leaves.append(LoggedLeaf(index, event.seq, event.event_id, event_leaf(event, prev), prev))
    return leaves
