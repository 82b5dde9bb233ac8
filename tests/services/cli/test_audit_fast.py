"""The fast pass of ``audit verify``: it proves an intact archive, and declines everything else.

The fast pass reads the Merkle log and the archive in stretches (one forked
reader each) and only ever says "intact"; wherever the archive is not exactly
its logged leaves in order, or a checkpoint fails, it must decline (return
None) so the exact pass names what broke. Each tampering below must make it
decline, in whichever stretch it lands; an intact archive must be proven with
the same report the exact pass gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from agentdeck.audit import Completeness, ReferenceCollector, event_leaf, verify_log
from agentdeck.audit._fast import prove_intact
from agentdeck.cli.audit import _StoreArchive, _StoreLog, verify_archive
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
EVENTS = 90  # three runs of 30, logged 10 to a chunk: nine chunks, three stretches


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Ninety archived events of three runs, logged in chunks of ten, open to tampering."""
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_update"))
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
        records = [
            record
            for run in ("run-a", "run-b", "run-c")
            for record in archive_records(
                EVENTS // 3, run, headers=(("h", b"v"),) * (run == "run-b")
            )
        ]
        # a whole second, whose ISO text has no fraction: the read's other instant form
        records[7] = replace(records[7], archived_at=NOW + timedelta(seconds=30))
        store.archive.append_many(conn, records)
    checkpointer = Checkpointer(store, KEY, clock=lambda: NOW, page=10, max_pages=2)
    while checkpointer.tick() is not None:
        pass
    yield store
    store.close()


def _prove(store: Store, processes: int = 3) -> object:
    log = MerkleLogStore()
    with store.transaction(read_only=True) as conn:
        checkpoints = log.checkpoints(conn)
    return prove_intact(
        checkpoints,
        _StoreLog(store),
        _StoreArchive(store),
        VERIFIER,
        refs=ReferenceCollector(default_codec()),
        processes=processes,
    )


def _sql(store: Store, *statements: str) -> None:
    with store.transaction() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_the_log_is_in_several_chunks_and_checkpoints(store: Store) -> None:
    log = MerkleLogStore()
    with store.transaction(read_only=True) as conn:
        assert len(log.chunk_starts(conn)) == EVENTS // 10
        assert len(log.checkpoints(conn)) == EVENTS // 20 + 1


@pytest.mark.parametrize("processes", [1, 3])
def test_an_intact_archive_is_proven_with_the_exact_pass_s_report(
    store: Store, processes: int
) -> None:
    assert _prove(store, processes) is not None

    fast = verify_archive(store, VERIFIER, Completeness())
    log = MerkleLogStore()
    with store.transaction(read_only=True) as conn:
        exact = verify_log(
            log.checkpoints(conn),
            log.leaves(conn),
            store.archive.iter_from(conn, 0, 1_000_000),
            VERIFIER,
            run_heads=log.all_run_heads(conn),
        )
    assert fast.ok, fast.failures
    assert (fast.events, fast.checkpoints, fast.notes) == (exact.events, exact.checkpoints, [])


def test_an_archive_ahead_of_its_log_is_proven_with_its_tail(store: Store) -> None:
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(4, "run-d"))

    assert _prove(store) is not None
    report = verify_archive(store, VERIFIER, Completeness(max_lag_events=3))
    assert report.failures[0].startswith(f"4 archived events (seq {EVENTS + 1} on) are not covered")


TAMPERING = {
    "altered payload": ["UPDATE event_archive SET payload = X'c30100' WHERE seq = 45"],
    "altered instant": [
        "UPDATE event_archive SET archived_at = '2026-01-02 03:04:06.000000' WHERE seq = 8"
    ],
    "altered header": ['UPDATE event_archive SET headers = \'[["h", "dw=="]]\' WHERE seq = 40'],
    "deleted event": ["DELETE FROM event_archive WHERE seq = 45"],
    "truncated end": ["DELETE FROM event_archive WHERE seq > 87"],
    "inserted before the first event": [
        (
            "INSERT INTO event_archive (seq, event_id, event_type, schema_fingerprint, "
            "run_id, tenant, topic, kafka_partition, kafka_offset, occurred_at, archived_at, "
            "payload, headers) SELECT 0, 'evt-new', event_type, schema_fingerprint, run_id, "
            "tenant, topic, kafka_partition, kafka_offset, occurred_at, archived_at, payload, "
            "headers "
            "FROM event_archive WHERE seq = 30"
        )
    ],
    "event id replaced": ["UPDATE event_archive SET event_id = 'evt-swapped' WHERE seq = 50"],
    "swapped within a stretch": [
        "UPDATE event_archive SET seq = -1 WHERE seq = 41",
        "UPDATE event_archive SET seq = 41 WHERE seq = 42",
        "UPDATE event_archive SET seq = 42 WHERE seq = -1",
    ],
    "moved across stretches": ["UPDATE event_archive SET seq = 1000 WHERE seq = 4"],
    "leaf chunk deleted": ["DELETE FROM merkle_leaf_chunks WHERE first_leaf = 40"],
    "checkpoint altered": [
        (
            "UPDATE merkle_checkpoints SET signed_at = replace(signed_at, '2026', '2027') "
            "WHERE tree_size = 60"
        )
    ],
}


@pytest.mark.parametrize("statements", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_fast_pass_declines_a_tampered_archive(store: Store, statements: list[str]) -> None:
    _sql(store, *statements)

    assert _prove(store) is None
    assert not verify_archive(store, VERIFIER, LENIENT).ok


def test_an_event_rewritten_with_its_leaf_is_declined_by_the_checkpoints(store: Store) -> None:
    """The rehash matches the rewritten leaf; only the signed roots show the log was rewritten."""
    chunk = "SELECT leaves, packed FROM merkle_leaf_chunks WHERE first_leaf = 50"
    with store.transaction() as conn:
        conn.execute(text("UPDATE event_archive SET payload = X'c30100' WHERE seq = 55"))
        event = store.archive.iter_from(conn, 54, 1)[0]
        leaves, packed = conn.execute(text(chunk)).one()
        assert json.loads(leaves)[4] == [55, event.event_id]
        count = len(json.loads(leaves))
        prev = int.from_bytes(
            packed[32 * count + 8 * 4 : 32 * count + 8 * 5], "little", signed=True
        )
        rewritten = packed[: 32 * 4] + event_leaf(event, prev) + packed[32 * 5 :]
        conn.execute(
            text("UPDATE merkle_leaf_chunks SET packed = :packed WHERE first_leaf = 50"),
            {"packed": rewritten},
        )

    assert _prove(store) is None
    failures = verify_archive(store, VERIFIER, LENIENT).failures
    assert any("does not match the log" in failure for failure in failures), failures


def test_a_log_cut_back_with_its_archive_is_proven_and_its_run_heads_fail(store: Store) -> None:
    """The newest checkpoint, its leaves and events removed: what is left is intact, but the
    run heads signed at the removed checkpoint show the cut."""
    _sql(
        store,
        "DELETE FROM merkle_checkpoints WHERE tree_size = 90",
        "DELETE FROM merkle_leaf_chunks WHERE first_leaf = 80",
        "DELETE FROM event_archive WHERE seq > 80",
    )

    assert _prove(store) is not None
    failures = verify_archive(store, VERIFIER, LENIENT).failures
    assert any("was signed beyond the latest valid checkpoint" in f for f in failures), failures


def test_an_instant_stored_in_another_form_reads_as_the_same_instant(store: Store) -> None:
    """The fast read takes SQLite's usual form as it comes; any other form is parsed."""
    _sql(store, "UPDATE event_archive SET archived_at = '2026-01-02 03:04:35' WHERE seq = 8")

    assert _prove(store) is not None
    assert verify_archive(store, VERIFIER, LENIENT).ok
