"""A finished run's trace is exported once the run has settled, off the archive's path."""

import threading

from agentdeck.contracts import default_codec
from agentdeck.store import Store
from agentdeck.telemetry.adapters.traces import RunTraces
from agentdeck.telemetry.adapters.tracing import open_sink
from agentdeck.telemetry.core import archive_record
from testkit.kafka import NOW, goal, started


def _archive_a_run(store: Store, n: int) -> str:
    codec = default_codec()
    first = goal(n)
    records = []
    for offset, event in enumerate((first, started(first))):
        value = codec.encode(event)
        records.append(
            archive_record(
                event,
                value=value,
                fingerprint_hex=value[2:10].hex(),
                topic="t.runs",
                partition=0,
                offset=offset,
                headers=[],
                archived_at=NOW,
            )
        )
    with store.transaction() as conn:
        store.archive.append_many(conn, records)
    return first.envelope.run_id or ""


def _traces(engine, tmp_path, settle_s):  # type: ignore[no-untyped-def]
    sink = open_sink(otlp_endpoint="", trace_file=tmp_path / "traces.jsonl")
    store = Store(engine)
    run_id = _archive_a_run(store, int(settle_s))
    return RunTraces(store, default_codec(), sink, group="g", settle_s=settle_s), run_id


def test_a_run_that_just_ended_waits_until_it_has_settled(engine, tmp_path):
    traces, run_id = _traces(engine, tmp_path, settle_s=3600)
    traces.finished([run_id])
    traces.export_settled()
    assert traces.exported == 0, "its last results may still be on their way"
    stop = threading.Event()
    stop.set()
    traces.run(stop)  # stopping exports what is left
    assert traces.exported > 0


def test_a_settled_run_is_exported_once(engine, tmp_path):
    traces, run_id = _traces(engine, tmp_path, settle_s=0)
    traces.finished([run_id])
    traces.export_settled()
    first = traces.exported
    traces.export_settled()
    assert first > 0
    assert traces.exported == first
    stop = threading.Event()
    stop.set()
    traces.run(stop)
