"""Telemetry's batch handler: archive every event exactly as it was received."""

from __future__ import annotations

from collections.abc import Sequence

from agentdeck.kafka import Inbound, Outcome
from agentdeck.kafka.headers import record_headers
from agentdeck.runtime import Clock
from agentdeck.store import Store
from agentdeck.telemetry.core import archive_record

__all__ = ["Archiver"]


class Archiver:
    """Writes each batch to the archive in one statement once the loop has flushed.

    The archive skips event ids it already holds, so a redelivered batch is
    harmless and no processed-event log is needed.
    """

    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.archived = 0

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """The batch's archive rows, written by ``commit``."""
        now = self._clock()
        records = []
        for item in batch:
            message = item.message
            value = message.value() or b""
            records.append(
                archive_record(
                    item.event,
                    value=value,
                    fingerprint_hex=value[2:10].hex(),
                    topic=message.topic() or "",
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                    headers=record_headers(message),
                    archived_at=now,
                )
            )

        def commit() -> None:
            with self._store.transaction() as conn:
                self.archived += self._store.archive.append_many(conn, records)

        return Outcome((), commit)
