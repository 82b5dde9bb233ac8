"""Exporting span specs with the OpenTelemetry SDK: OTLP in production, else a JSON-lines file."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from agentdeck.telemetry.core.spans import SpanSpec

__all__ = ["OtelSink", "open_sink"]

log = logging.getLogger(__name__)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


class OtelSink:
    """Turns :class:`SpanSpec` into SDK spans and hands them to one exporter."""

    def __init__(
        self, exporter: SpanExporter, *, service: str = "agentdeck", stream: IO[str] | None = None
    ) -> None:
        self._exporter = exporter
        self._resource = Resource.create({"service.name": service})
        self._stream = stream
        self._closed = False

    def export(self, specs: Sequence[SpanSpec]) -> bool:
        """Export ``specs``; False (and a log line) if the exporter failed."""
        if self._closed:
            return False  # shutting down; the trace can be rebuilt from the archive
        spans = [self._span(s) for s in specs]
        result = self._exporter.export(spans)
        if self._stream is not None:
            self._stream.flush()
        if result is not SpanExportResult.SUCCESS:
            log.warning("exporting %d spans failed", len(spans))
            return False
        return True

    def _span(self, spec: SpanSpec) -> ReadableSpan:
        parent = _context(spec.trace_id, spec.parent_id) if spec.parent_id else None
        status = Status(StatusCode.ERROR, spec.error) if spec.error else Status(StatusCode.OK)
        return ReadableSpan(
            name=spec.name,
            context=_context(spec.trace_id, spec.span_id),
            parent=parent,
            resource=self._resource,
            attributes=spec.attributes,
            kind=SpanKind.INTERNAL,
            links=[Link(_context(spec.trace_id, link)) for link in spec.links],
            status=status,
            start_time=_ns(spec.start),
            end_time=_ns(spec.end),
        )

    def close(self) -> None:
        """Flush and release the exporter."""
        self._closed = True
        self._exporter.shutdown()
        if self._stream is not None:
            self._stream.close()


def open_sink(*, otlp_endpoint: str, trace_file: Path) -> OtelSink:
    """OTLP/HTTP when an endpoint is configured, else one JSON span per line in ``trace_file``."""
    if otlp_endpoint:
        return OtelSink(OTLPSpanExporter(endpoint=otlp_endpoint))
    trace_file.parent.mkdir(parents=True, exist_ok=True)
    stream = trace_file.open("a", encoding="utf-8")
    exporter = ConsoleSpanExporter(
        out=stream, formatter=lambda span: span.to_json(indent=None) + "\n"
    )
    return OtelSink(exporter, stream=stream)
