"""What one leaf of the archive's Merkle log covers: every stored field of an event but its seq.

``seq`` is left out so that an event moved to another position still hashes
the same and verification can say it was reordered rather than altered. The
leaf also covers ``run_prev``, the leaf index of the previous event of the same
run: a run's events form a chain, so a proof bundle missing one of them shows
the gap.
"""

from __future__ import annotations

import struct
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC

from agentdeck.audit._merkle import leaf_hash
from agentdeck.store import ArchivedEvent, ArchiveRecord

__all__ = ["LEAF_DOMAIN", "LoggedLeaf", "event_leaf", "leaf_bytes", "log_events"]

LEAF_DOMAIN = b"agentdeck.archive.leaf.v1"


def _field(value: bytes | None) -> bytes:
    if value is None:
        return b"\x00"
    return b"\x01" + struct.pack(">Q", len(value)) + value


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


def leaf_bytes(event: ArchiveRecord, run_prev: int | None = None) -> bytes:
    """The unambiguous byte encoding of ``event`` (length-prefixed fields, domain first)."""
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
    return LEAF_DOMAIN + b"".join(_field(f) for f in fields)


def event_leaf(event: ArchiveRecord, run_prev: int | None = None) -> bytes:
    """The RFC 6962 leaf hash of ``event`` (chained to leaf ``run_prev`` of its run)."""
    return leaf_hash(leaf_bytes(event, run_prev))


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
