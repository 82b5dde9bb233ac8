"""A finished run's trace: read its events back from the archive, derive the spans, export.

Off the archive's path: the loop only notes that a run finished; a background task
exports the trace once the run has been finished for ``settle_s``. A run's events
arrive on several topics, and its last result may be archived a moment after the
run's end, so a trace built at once could miss its last step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from agentdeck.contracts import Codec, DecodeError
from agentdeck.store import Store
from agentdeck.telemetry.adapters.tracing import OtelSink
from agentdeck.telemetry.core.spans import Received, run_spans

__all__ = ["RunTraces"]

log = logging.getLogger(__name__)


class RunTraces:
    """Exports one trace per finished run. Best effort: traces can always be rebuilt."""

    def __init__(
        self, store: Store, codec: Codec, sink: OtelSink, *, group: str, settle_s: float = 1.0
    ) -> None:
        self._store = store
        self._codec = codec
        self._sink = sink
        self._group = group
        self._settle_s = settle_s
        self._finished: dict[str, float] = {}
        self._lock = threading.Lock()
        self.exported = 0

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
        """Export settled runs until ``stop``; then what remains, and close the sink."""
        while not stop.wait(self._settle_s / 4):
            self.export_settled()
        with self._lock:
            remaining, self._finished = list(self._finished), {}
        if remaining:
            self.export_runs(remaining)
        self._sink.close()

    def export_runs(self, run_ids: Sequence[str]) -> None:
        """Export the trace of each run in ``run_ids``."""
        with self._store.transaction(read_only=True) as conn:
            runs = {r: self._store.archive.read_run(conn, r) for r in set(run_ids)}
        for run_id, archived in runs.items():
            received = []
            for item in archived:
                try:
                    event = self._codec.decode(item.payload)
                except DecodeError:
                    continue
                received.append(Received(event, item.topic, item.partition, item.offset))
            try:
                spans = run_spans(received, group=self._group)
            except Exception:  # never let a trace stop the archive
                log.exception("building the trace of run %s failed", run_id)
                continue
            if spans and self._sink.export(spans):
                self.exported += len(spans)
            elif spans:
                log.warning("trace of run %s not exported", run_id)
