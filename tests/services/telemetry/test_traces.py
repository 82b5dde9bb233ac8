"""A finished run's trace is exported once the run has settled, off the archive's path."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.contracts import default_codec
from agentdeck.store import Store, migrate
from agentdeck.store.errors import StoreUnavailableError
from agentdeck.telemetry.adapters.traces import RunTraces
from agentdeck.telemetry.adapters.tracing import open_sink
from agentdeck.telemetry.core import archive_record
from agentdeck.telemetry.core.spans import Received
from testkit.kafka import NOW, goal, started
from testkit.sql import Databases


def _archive_a_run(store: Store, n: int) -> str:
    return _archive(store, n)[0]


def _archive(store: Store, n: int) -> tuple[str, list[tuple[str, Received]]]:
    """Archive a run of two events; its id and the events as the archiver hands them over."""
    codec = default_codec()
    first = goal(n)
    records = []
    received = []
    for offset, event in enumerate((first, started(first))):
        received.append((first.envelope.run_id or "", Received(event, "t.runs", 0, offset)))
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
    return first.envelope.run_id or "", received


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


def _exported(traces: RunTraces, run_id: str, path) -> str:  # type: ignore[no-untyped-def]
    traces.finished([run_id])
    stop = threading.Event()
    stop.set()
    traces.run(stop)
    return path.read_text()


def test_a_trace_is_built_from_the_events_handed_over_and_read_back_when_one_is_missing(
    engine, tmp_path
):
    store = Store(engine)
    run_id, received = _archive(store, 7)
    traced = []
    for name, handed in (("all", received), ("none", []), ("one", received[:1])):
        path = tmp_path / f"{name}.jsonl"
        sink = open_sink(otlp_endpoint="", trace_file=path)
        traces = RunTraces(store, default_codec(), sink, group="g", settle_s=0)
        traces.archived(handed)
        traced.append((_exported(traces, run_id, path), traces.read_back))
    (from_memory, reads), (read_back, _), (partial, partial_reads) = traced
    assert reads == 0, "every archived event was handed over: nothing read back"
    assert from_memory == read_back != ""
    assert (partial, partial_reads) == (read_back, 1), "an event missing: the run is read back"


def _exporting(store: Store, path: Path, max_runs: int = 10_000) -> RunTraces:
    """Traces of ``store``'s runs written to ``path``, exported as soon as a run ends."""
    sink = open_sink(otlp_endpoint="", trace_file=path)
    return RunTraces(store, default_codec(), sink, group="g", settle_s=0, max_runs=max_runs)


def test_memory_is_bounded_by_runs_and_an_evicted_run_is_read_back(engine, tmp_path):
    store = Store(engine)
    first, handed_first = _archive(store, 8)
    second, handed_second = _archive(store, 9)
    traces = _exporting(store, tmp_path / "t.jsonl", max_runs=1)
    traces.archived(handed_first)
    traces.archived(handed_second)  # evicts the first run's events
    traces.finished([first, second])
    stop = threading.Event()
    stop.set()
    traces.run(stop)
    assert traces.read_back == 1
    assert traces.exported > 0


@pytest.mark.integration
def test_an_export_the_database_refused_is_tried_again_and_nothing_is_lost(pg_admin, tmp_path):
    databases = Databases("postgresql", tmp_path, pg_admin)
    try:
        store = Store(databases.new_engine())
        migrate(store.engine, *SERVICE_SCHEMAS)
        path = tmp_path / "traces.jsonl"
        traces = _exporting(store, path)
        run_id, handed = _archive(store, 3)
        traces.archived(handed)
        traces.finished([run_id])
        with store.transaction(read_only=True) as conn:  # the pool's one connection
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pg_admin.connect() as admin:  # the server drops it
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        with pytest.raises(StoreUnavailableError):
            traces.export_settled()
        assert traces.exported == 0
        traces.export_settled()  # the next tick

        assert traces.exported > 0
        assert traces.read_back == 0, "the events handed over were kept for the next try"
        assert run_id in path.read_text()
        stop = threading.Event()
        stop.set()
        traces.run(stop)  # closes the sink
        store.close()
    finally:
        databases.close()
