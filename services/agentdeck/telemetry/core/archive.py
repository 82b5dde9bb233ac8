"""What the archive keeps of an event: the exact bytes, where they were read, and the envelope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agentdeck.contracts import Event
from agentdeck.store import ArchiveRecord

__all__ = ["archive_record"]


def archive_record(
    event: Event,
    *,
    value: bytes,
    fingerprint_hex: str,
    topic: str,
    partition: int,
    offset: int,
    headers: Sequence[tuple[str, bytes | None]],
    archived_at: datetime,
) -> ArchiveRecord:
    """The archive row of one received event; the payload is kept byte for byte."""
    env = event.envelope
    return ArchiveRecord(
        event_id=env.event_id,
        event_type=env.event_type,
        schema_fingerprint=fingerprint_hex,
        run_id=env.run_id,
        tenant=env.tenant,
        topic=topic,
        partition=partition,
        offset=offset,
        occurred_at=env.occurred_at,
        archived_at=archived_at,
        payload=value,
        headers=tuple(headers),
    )
