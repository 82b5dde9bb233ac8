"""A finished run's trace: from the events the archiver already decoded, derive the spans, export.

Off the archive's path: the loop hands over the events it archived (decoded
already) and notes that a run finished; a background task exports the trace
once the run has been finished for ``settle_s``. A run's events arrive on
several topics, and its last result may be archived a moment after the run's
end, so a trace built at once could miss its last step.

The events kept in memory are only a shortcut: the trace is built from them
when they include every event the archive holds for the run (one read of the
run's event ids); otherwise (telemetry restarted mid-run, or the run's events
were dropped to bound memory) the run is read back from the archive and decoded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from agentdeck.contracts import Codec, DecodeError, Event
from agentdeck.runtime import ticking
from agentdeck.store import ArchivedEvent, Store
from agentdeck.store.errors import StoreUnavailableError
from agentdeck.telemetry.adapters.tracing import OtelSink
from agentdeck.telemetry.core.spans import Received, run_spans

__all__ = ["RunTraces"]

log = logging.getLogger(__name__)


class RunTraces:
    """Exports one trace per finished run. Best effort: traces can always be rebuilt."""

    def __init__(
        self,
        store: Store,
        codec: Codec,
        sink: OtelSink,
        *,
        group: str,
        settle_s: float = 1.0,
        max_runs: int = 10_000,
    ) -> None:
        """Export nothing yet.

        Args:
            max_runs: Runs whose events are kept in memory at most; the oldest
                run's are dropped beyond it (its trace is then read back).
        """
        self._store = store
        self._codec = codec
        self._sink = sink
        self._group = group
        self._settle_s = settle_s
        self._max_runs = max_runs
        self._finished: dict[str, float] = {}
        self._events: OrderedDict[str, dict[str, Received]] = OrderedDict()
        self._lock = threading.Lock()
        self.exported = 0
        self.read_back = 0
        """Runs whose trace had to be read back from the archive."""

    def decode(self, value: bytes) -> Event | None:
        """``value`` decoded as the trace reads archived bytes; None if it cannot be."""
        try:
            return self._codec.decode(value)
        except DecodeError:
            return None

    def archived(self, events: Sequence[tuple[str, Received]]) -> None:
        """Keep ``(run id, event)`` pairs the archive now holds, for the runs' traces."""
        with self._lock:
            for run_id, received in events:
                kept = self._events.get(run_id)
                if kept is None:
                    kept = self._events[run_id] = {}
                    if len(self._events) > self._max_runs:
                        self._events.popitem(last=False)
                kept[received.event.envelope.event_id] = received

    def finished(self, run_ids: Sequence[str]) -> None:
        """Note that ``run_ids`` ended (their final event is archived); export them later."""
        now = time.monotonic()
        with self._lock:
            for run_id in run_ids:
                self._finished.setdefault(run_id, now)

    def export_settled(self) -> None:
        """Export the runs that ended at least ``settle_s`` ago."""
        due = time.monotonic() - self._settle_s
        with self._lock:
            ready = [r for r, at in self._finished.items() if at <= due]
            for run_id in ready:
                del self._finished[run_id]
        if ready:
            self.export_runs(ready)

    def run(self, stop: threading.Event) -> None:
        """Export settled runs until ``stop``; then what remains, and close the sink.

        An export the database refused (its connection dropped) is tried again at
        the next tick: its runs wait for it, nothing is lost.
        """
        ticking(self.export_settled, every_s=self._settle_s / 4, what="trace export")(stop)
        with self._lock:
            remaining, self._finished = list(self._finished), {}
        try:
            if remaining:
                self.export_runs(remaining)
        except StoreUnavailableError as exc:
            log.warning("%d trace(s) not exported at stop: %s", len(remaining), exc.message)
        finally:
            self._sink.close()

    def export_runs(self, run_ids: Sequence[str]) -> None:
        """Export the trace of each run in ``run_ids``.

        Raises:
            StoreUnavailableError: The archive could not be read; the runs wait
                for the next export, their events kept.
        """
        wanted = set(run_ids)
        with self._lock:
            kept = {r: self._events.pop(r, {}) for r in wanted}
        try:
            runs = self._read(wanted, kept)
        except StoreUnavailableError:
            with self._lock:
                for run_id, events in kept.items():
                    self._events.setdefault(run_id, {}).update(events)
                    self._finished.setdefault(run_id, 0.0)  # due at the next export
            raise
        for run_id, received in runs.items():
            try:
                spans = run_spans(received or [], group=self._group)
            except Exception:  # never let a trace stop the archive
                log.exception("building the trace of run %s failed", run_id)
                continue
            if spans and self._sink.export(spans):
                self.exported += len(spans)
            elif spans:
                log.warning("trace of run %s not exported", run_id)

    def _read(
        self, wanted: set[str], kept: dict[str, dict[str, Received]]
    ) -> dict[str, list[Received] | None]:
        """Each run's events in order: those kept if the archive holds no other, else read."""
        with self._store.transaction(read_only=True) as conn:
            held = self._store.archive.event_ids_of_runs(conn, wanted)
            runs = {r: _in_order(kept[r], held.get(r, [])) for r in wanted}
            for run_id in [r for r, events in runs.items() if events is None]:
                runs[run_id] = self._decoded(self._store.archive.read_run(conn, run_id))
                self.read_back += 1
        return runs

    def _decoded(self, archived: Sequence[ArchivedEvent]) -> list[Received]:
        received = []
        for item in archived:
            try:
                event = self._codec.decode(item.payload)
            except DecodeError:
                continue
            received.append(Received(event, item.topic, item.partition, item.offset))
        return received


def _in_order(kept: dict[str, Received], held: Sequence[str]) -> list[Received] | None:
    """The kept events in archive order if they are every event the archive holds; else None."""
    if not held or any(event_id not in kept for event_id in held):
        return None
    return [kept[event_id] for event_id in held]
