"""``audit verify`` reads the archive in seq ranges, one process each: same report as one pass.

Tampering is simulated in a throwaway SQLite store whose append-only triggers
are dropped first; the report of :func:`verify_archive` (ranges, forked
readers) must equal, failure for failure, that of one in-process pass over
the archive read in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from agentdeck.audit import AuditReport, Completeness, ReferenceCollector, verify_log
from agentdeck.cli.audit import verify_archive
from agentdeck.contracts import default_codec
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import Store
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import NOW, archive_records

KEY = Signer("telemetry-1", generate_private_key())
VERIFIER = Verifier({KEY.key_id: KEY.public_key_b64()})
LENIENT = Completeness(max_lag_events=10**9, max_lag_s=10**9)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Sixty archived events of three runs, logged and checkpointed, open to tampering."""
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_update"))
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
        for run in ("run-a", "run-b", "run-c"):
            store.archive.append_many(conn, archive_records(20, run))
    checkpointer = Checkpointer(store, KEY, clock=lambda: NOW)
    while checkpointer.tick() is not None:
        pass
    yield store
    store.close()


def _one_pass(store: Store, completeness: Completeness) -> AuditReport:
    log = MerkleLogStore()
    refs = ReferenceCollector(default_codec())
    with store.transaction(read_only=True) as conn:
        report = verify_log(
            log.checkpoints(conn),
            log.leaves(conn),
            refs.watch(store.archive.iter_from(conn, 0, 1_000_000)),
            VERIFIER,
            completeness=completeness,
            run_heads=log.all_run_heads(conn),
        )
    report.payloads = len(refs.referenced)
    return report


def _sql(store: Store, statement: str) -> None:
    with store.transaction() as conn:
        conn.execute(text(statement))


def _same(store: Store, completeness: Completeness = LENIENT) -> AuditReport:
    ranged = verify_archive(store, VERIFIER, completeness)
    single = _one_pass(store, completeness)
    assert ranged.failures == single.failures
    assert ranged.notes == single.notes
    assert (ranged.events, ranged.checkpoints) == (single.events, single.checkpoints)
    return ranged


def test_an_intact_archive_verifies_in_ranges(store: Store) -> None:
    report = _same(store, Completeness())

    assert report.ok, report.failures
    assert report.events == 60


def test_tampering_in_every_range_is_reported_as_one_pass_reports_it(store: Store) -> None:
    _sql(store, "UPDATE event_archive SET payload = X'c30100' WHERE seq = 3")
    _sql(store, "DELETE FROM event_archive WHERE seq = 35")
    _sql(store, "DELETE FROM event_archive WHERE seq >= 58")
    _sql(store, "UPDATE event_archive SET event_id = 'evt-swapped' WHERE seq = 50")

    report = _same(store)

    text_ = "\n".join(report.failures)
    assert "was altered" in text_
    assert "was deleted from the archive" in text_
    assert "the archive was truncated: the last 3 logged events" in text_
    assert "event evt-swapped at seq 50 is in the archive but not in the log" in text_


def test_events_moved_across_ranges_are_reported_reordered(store: Store) -> None:
    _sql(store, "UPDATE event_archive SET seq = 1000 WHERE seq = 4")

    report = _same(store)

    assert any(f.startswith("events reordered:") for f in report.failures)


def test_events_archived_after_the_last_checkpoint_are_the_uncovered_tail(store: Store) -> None:
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(7, "run-d"))

    report = _same(store, Completeness(max_lag_events=5))

    assert report.failures[0].startswith("7 archived events (seq 61 on) are not covered")
