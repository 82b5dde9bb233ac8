"""What one leaf of the archive's Merkle log covers: every stored field of an event but its seq.

``seq`` is left out so that an event moved to another position still hashes
the same and verification can say it was reordered rather than altered.
"""

from __future__ import annotations

import struct
from datetime import UTC

from agentdeck.audit._merkle import leaf_hash
from agentdeck.store import ArchiveRecord

__all__ = ["LEAF_DOMAIN", "event_leaf", "leaf_bytes"]

LEAF_DOMAIN = b"agentdeck.archive.leaf.v1"


def _field(value: bytes | None) -> bytes:
    if value is None:
        return b"\x00"
    return b"\x01" + struct.pack(">Q", len(value)) + value


def leaf_bytes(event: ArchiveRecord) -> bytes:
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
    return LEAF_DOMAIN + b"".join(_field(f) for f in fields)


def event_leaf(event: ArchiveRecord) -> bytes:
    """The RFC 6962 leaf hash of ``event``."""
    return leaf_hash(leaf_bytes(event))
