"""A finished run's trace: read its events back from the archive, derive the spans, export."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentdeck.contracts import Codec, DecodeError
from agentdeck.store import Store
from agentdeck.telemetry.adapters.tracing import OtelSink
from agentdeck.telemetry.core.spans import Received, run_spans

__all__ = ["RunTraces"]

log = logging.getLogger(__name__)


class RunTraces:
    """Exports one trace per finished run. Best effort: traces can always be rebuilt."""

    def __init__(self, store: Store, codec: Codec, sink: OtelSink, *, group: str) -> None:
        self._store = store
        self._codec = codec
        self._sink = sink
        self._group = group
        self.exported = 0

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
