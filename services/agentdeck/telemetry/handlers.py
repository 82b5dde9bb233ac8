"""Telemetry's batch handler: archive every event as it was received, personal data sealed,
and fold what it archived into the runs projection."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.kafka import Inbound, Outcome
from agentdeck.kafka.headers import record_headers
from agentdeck.runtime import Clock
from agentdeck.store import Store
from agentdeck.telemetry.adapters.projection import RunsProjection
from agentdeck.telemetry.adapters.traces import RunTraces
from agentdeck.telemetry.core import archive_record
from agentdeck.telemetry.core.spans import Received

__all__ = ["Archiver"]

_FINAL = (m.RunCompleted, m.RunFailed, m.RunCancelled)


class Archiver:
    """Writes each batch to the archive in one statement once the loop has flushed.

    The archive skips event ids it already holds, so a redelivered batch is
    harmless and no processed-event log is needed; ``runs`` folds only the
    events archived for the first time, in the same transaction. ``seal`` seals what a
    writer outside the platform (a producer's goal) left in the clear; bytes the
    services wrote are sealed already and kept byte for byte.
    """

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        traces: RunTraces | None = None,
        runs: RunsProjection | None = None,
        seal: Callable[[bytes], bytes] | None = None,
        prepare: Callable[[Sequence[Event]], None] | None = None,
    ) -> None:
        self._store = store
        self._seal = seal
        self._prepare = prepare
        self._clock = clock
        self._traces = traces
        self._runs = runs
        self._decode = None if traces is None else traces.decode
        self.archived = 0

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """The batch's archive rows, written by ``commit``."""
        now = self._clock()
        records = []
        kept: dict[str, Event] = {}
        seen: list[tuple[str, Received]] = []
        if self._seal is not None and self._prepare is not None:
            self._prepare([item.event for item in batch])  # the runs' keys, in one read
        for item in batch:
            message = item.message
            original = message.value() or b""
            value = original if self._seal is None else self._seal(original)
            run_id = item.event.envelope.run_id
            # What the archive holds: sealed here means decoded again, as it is kept.
            event = item.event if value == original else self._kept(value)
            if event is not None:
                kept[item.event.envelope.event_id] = event
            if self._traces is not None and run_id and event is not None:
                where = (message.topic() or "", message.partition() or 0, message.offset() or 0)
                seen.append((run_id, Received(event, *where)))
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

        finished = [
            i.event.envelope.run_id
            for i in batch
            if isinstance(i.event, _FINAL) and i.event.envelope.run_id
        ]

        def commit() -> None:
            with self._store.transaction() as conn:
                new = self._store.archive.append_new(conn, records)
                if self._runs is not None:
                    self._runs.fold(conn, [kept[i] for i in new if i in kept])
                self.archived += len(new)
            if self._traces is not None:
                self._traces.archived(seen)
                if finished:
                    self._traces.finished(finished)

        return Outcome((), commit)

    def _kept(self, value: bytes) -> Event | None:
        return None if self._decode is None else self._decode(value)
