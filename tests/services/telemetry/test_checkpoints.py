"""The checkpoint task logs the archive in seq order and signs it; tampering is named exactly.

Tampering is simulated in a throwaway SQLite store whose append-only triggers
are dropped first (the real archive refuses UPDATE and DELETE). The log is one
per database, so every test here has a database of its own.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from agentdeck.audit import (
    AuditReport,
    Checkpoint,
    Completeness,
    MerkleTree,
    RunHead,
    root_hash,
    sign_checkpoint,
    verify_consistency,
    verify_log,
)
from agentdeck.contracts import models as m
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import ArchiveRecord, Store, migrate
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA
from agentdeck.telemetry.checkpoints import Checkpointer, checkpoint_tasks
from agentdeck.telemetry.settings import TelemetrySettings
from testkit.archive import NOW, archive_records
from testkit.kafka import wait_until
from testkit.sql import BACKENDS, databases_for


def records(n: int, run_id: str) -> list[ArchiveRecord]:
    return archive_records(n, run_id)


def open_store(tmp_path: Path) -> Store:
    """A SQLite store of this test's own, with telemetry's tables."""
    return Store.open("", data_dir=str(tmp_path / "store"), schemas=(SCHEMA,))


class Audited:
    """A store, its Merkle log and the checkpoint signer."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.key = Signer("telemetry-1", generate_private_key())
        self.log = MerkleLogStore()
        self.checkpointer = Checkpointer(store, self.key, log_store=self.log, clock=lambda: NOW)

    def archive(self, batch: list[ArchiveRecord]) -> None:
        with self.store.transaction() as conn:
            self.store.archive.append_many(conn, batch)

    def verify(self, completeness: Completeness | None = None) -> AuditReport:
        with self.store.transaction(read_only=True) as conn:
            rows = self.store.archive.iter_from(conn, 0, 1_000_000)
            return verify_log(
                self.log.checkpoints(conn),
                self.log.leaves(conn),
                rows,
                Verifier({"telemetry-1": self.key.public_key_b64()}),
                completeness=completeness,
                run_heads=self.log.all_run_heads(conn),
            )

    def sql(self, statement: str, **params: object) -> None:
        with self.store.transaction() as conn:
            conn.execute(text(statement), params)

    def delete_log(self) -> None:
        """Every row of the Merkle log gone (the archive stays)."""
        with self.store.transaction() as conn:
            for table in SCHEMA.metadata.sorted_tables:
                if table.name.startswith("merkle_"):
                    conn.execute(table.delete())


@pytest.fixture
def tamperable(tmp_path: Path) -> Audited:
    """Twelve archived events, logged and checkpointed, in a store that allows tampering."""
    store = open_store(tmp_path)
    audited = Audited(store)
    audited.sql("DROP TRIGGER event_archive_no_update")
    audited.sql("DROP TRIGGER event_archive_no_delete")
    audited.archive(records(7, "run-a"))
    audited.archive(records(5, "run-b"))
    cp = audited.checkpointer.tick()
    assert cp is not None
    assert cp.tree_size == 12
    yield audited
    store.close()


def leaf_at(audited: Audited, index: int) -> tuple[int, str]:
    with audited.store.transaction(read_only=True) as conn:
        leaf = audited.log.leaves(conn)[index]
    return leaf.seq, leaf.event_id


@pytest.fixture(params=BACKENDS)
def own_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated database of this test's own, on each backend."""
    databases = databases_for(request, tmp_path / "databases")
    store = Store(databases.new_engine())
    migrate(store.engine, SCHEMA)
    yield store
    databases.close()


def test_the_log_signs_the_archive_and_grows_consistently(own_store):
    audited = Audited(own_store)
    audited.archive(records(5, f"run-{uuid.uuid4().hex}"))
    first = audited.checkpointer.tick()
    assert audited.checkpointer.tick() is None, "nothing new, no checkpoint"
    audited.archive(records(3, f"run-{uuid.uuid4().hex}"))
    second = audited.checkpointer.tick()
    assert first is not None
    assert second is not None
    assert second.tree_size == first.tree_size + 3
    report = audited.verify()
    assert report.ok, report.failures
    assert report.events == second.tree_size
    with audited.store.transaction(read_only=True) as conn:
        hashes = [leaf.leaf_hash for leaf in audited.log.leaves(conn)]
    assert root_hash(hashes[: first.tree_size]) == first.root()
    proof = MerkleTree(hashes).consistency_proof(first.tree_size)
    assert verify_consistency(first.tree_size, second.tree_size, first.root(), second.root(), proof)


def test_a_backlog_is_logged_in_bounded_ticks_that_chain_up(tmp_path):
    store = open_store(tmp_path)
    audited = Audited(store)
    audited.archive(records(5, "run-a"))
    small = Checkpointer(store, audited.key, log_store=audited.log, page=2, max_pages=2)
    first = small.tick()
    assert first is not None
    assert (first.tree_size, small.behind) == (4, True)
    second = small.tick()
    assert second is not None
    assert (second.tree_size, small.behind) == (5, False)
    report = audited.verify()
    assert report.ok, report.failures
    assert report.checkpoints == 2
    store.close()


def test_telemetry_refuses_to_start_without_a_checkpoint_signing_key(tmp_path):
    store = open_store(tmp_path)
    try:
        with pytest.raises(
            ConfigError, match="AGENTDECK_TELEMETRY_CHECKPOINT_SIGNING_KEY is required"
        ):
            checkpoint_tasks(TelemetrySettings(checkpoint_signing_key=None), store)
    finally:
        store.close()


def test_the_background_task_checkpoints_until_stopped(tmp_path):
    store = open_store(tmp_path)
    Audited(store).archive(records(4, "run-a"))
    settings = TelemetrySettings(
        checkpoint_signing_key=SecretStr(generate_private_key()), checkpoint_interval_s=0.05
    )
    [(name, task)] = checkpoint_tasks(settings, store)
    assert name == "checkpoints"
    stop = threading.Event()
    thread = threading.Thread(target=task, args=(stop,))
    thread.start()
    try:
        default_log = MerkleLogStore()

        def checkpointed() -> bool:
            with store.transaction(read_only=True) as conn:
                return bool(default_log.checkpoints(conn))

        wait_until(checkpointed, what="a checkpoint")
    finally:
        stop.set()
        thread.join()
        store.close()


def test_an_untouched_archive_verifies(tamperable):
    report = tamperable.verify()
    assert report.ok, report.failures
    assert (report.events, report.checkpoints) == (12, 1)


def test_flipping_one_byte_of_a_payload_names_the_altered_event(tamperable):
    seq, event_id = leaf_at(tamperable, 4)
    tamperable.sql(
        "UPDATE event_archive SET payload = :p WHERE seq = :s",
        p=b"\xc3\x01run-a payload 5",  # was "... payload 4": one byte differs
        s=seq,
    )
    assert tamperable.verify().failures == [
        (
            f"event {event_id} (leaf 4, seq {seq}) was altered: "
            "its archived bytes no longer hash to the logged leaf"
        )
    ]


def test_deleting_an_event_names_the_deleted_event(tamperable):
    seq, event_id = leaf_at(tamperable, 6)
    tamperable.sql("DELETE FROM event_archive WHERE seq = :s", s=seq)
    assert tamperable.verify().failures == [
        f"event {event_id} (leaf 6, seq {seq}) was deleted from the archive"
    ]


def test_reordering_two_events_is_reported_as_a_reorder(tamperable):
    (seq_a, id_a), (seq_b, id_b) = leaf_at(tamperable, 2), leaf_at(tamperable, 3)
    tamperable.sql("UPDATE event_archive SET seq = -1 WHERE seq = :s", s=seq_a)
    tamperable.sql("UPDATE event_archive SET seq = :a WHERE seq = :b", a=seq_a, b=seq_b)
    tamperable.sql("UPDATE event_archive SET seq = :b WHERE seq = -1", b=seq_b)
    assert tamperable.verify().failures == [
        (
            f"events reordered: {id_b} (leaf 3) now comes before {id_a} (leaf 2) in the archive "
            f"(seq {seq_a} < {seq_b})"
        )
    ]


def test_truncating_the_tail_is_reported_as_a_truncation(tamperable):
    seq, _ = leaf_at(tamperable, 9)
    tamperable.sql("DELETE FROM event_archive WHERE seq >= :s", s=seq)
    assert tamperable.verify().failures == [
        f"the archive was truncated: the last 3 logged events (leaves 9..11, seq {seq} on) are gone"
    ]


def test_a_checkpoint_swapped_for_another_logs_is_reported(tamperable):
    other = sign_checkpoint(tamperable.key, 12, root_hash([b"\x00" * 32] * 12), NOW)
    with tamperable.store.transaction() as conn:
        tamperable.log.add_checkpoint(conn, other, tamperable.key.public_key_b64())
    failure, unproven = tamperable.verify().failures
    assert failure.startswith(f"checkpoint at tree size 12 ({NOW.isoformat()}): root hash ")
    assert failure.endswith("the checkpoint was swapped or the log rewritten")
    assert unproven.startswith("no valid signed checkpoint covers the archive: its 12 events")


def test_a_checkpoint_signed_by_another_key_is_reported(tamperable):
    with tamperable.store.transaction(read_only=True) as conn:
        [genuine] = tamperable.log.checkpoints(conn)
    intruder = Signer("telemetry-1", generate_private_key())
    forged = sign_checkpoint(intruder, genuine.tree_size, genuine.root(), NOW)
    with tamperable.store.transaction() as conn:
        tamperable.log.add_checkpoint(conn, forged, intruder.public_key_b64())
    failures = tamperable.verify().failures
    assert failures[0] == (
        f"checkpoint at tree size 12 ({NOW.isoformat()}): signature does not verify under "
        "key 'telemetry-1' (forged, altered or swapped in)"
    )
    assert failures[1].startswith("no valid signed checkpoint covers the archive")


def test_an_event_slipped_in_behind_the_log_is_reported(tamperable):
    seq, _ = leaf_at(tamperable, 11)
    tamperable.sql("DELETE FROM event_archive WHERE seq = :s", s=seq)
    tamperable.archive(records(1, "run-a"))
    tamperable.sql(
        "UPDATE event_archive SET seq = :s WHERE seq = (SELECT MAX(seq) FROM event_archive)", s=seq
    )
    failures = tamperable.verify().failures
    assert failures[0].endswith(
        "is in the archive but not in the log: it was inserted after the log passed that point"
    )
    assert failures[1].startswith("the archive was truncated: the last 1 logged events")


def later(batch: list[ArchiveRecord], by: timedelta) -> list[ArchiveRecord]:
    return [dataclasses.replace(r, archived_at=r.archived_at + by) for r in batch]


def test_an_archive_whose_merkle_log_was_deleted_is_unproven(tamperable):
    tamperable.delete_log()
    tamperable.sql("UPDATE event_archive SET payload = :p WHERE seq = 1", p=b"rewritten")
    assert tamperable.verify().failures == [
        (
            "no valid signed checkpoint covers the archive: its 12 events are unproven "
            "(the Merkle log or its checkpoints are gone, or telemetry signs none)"
        )
    ]


def test_a_log_with_only_forged_checkpoints_leaves_the_archive_unproven(tamperable):
    tamperable.delete_log()
    intruder = Signer("telemetry-1", generate_private_key())
    forged = sign_checkpoint(intruder, 0, root_hash([]), NOW)
    with tamperable.store.transaction() as conn:
        tamperable.log.add_checkpoint(conn, forged, intruder.public_key_b64())
    failures = tamperable.verify().failures
    assert failures[-1].startswith("no valid signed checkpoint covers the archive")


def test_events_archived_long_after_the_latest_checkpoint_fail_as_uncovered(tamperable):
    seq, _ = leaf_at(tamperable, 11)
    tamperable.archive(later(records(3, "run-c"), timedelta(hours=1)))
    [failure] = tamperable.verify().failures
    assert failure.startswith(
        f"3 archived events (seq {seq + 1} on) are not covered by the latest valid checkpoint "
        f"(tree size 12, {NOW.isoformat()}): the newest was archived 3602 s after it, "
        "more than the allowed 120 s"
    )


def test_too_many_uncovered_events_fail_even_when_recent(tamperable):
    tamperable.archive(records(3, "run-c"))
    assert tamperable.verify(Completeness(max_lag_events=3)).ok
    [failure] = tamperable.verify(Completeness(max_lag_events=2)).failures
    assert "3 archived events" in failure
    assert failure.endswith(
        "more than the allowed 2; checkpointing stopped, or the checkpoints after it were removed"
    )


def test_removing_the_newest_checkpoint_and_its_leaves_leaves_the_tail_uncovered(tamperable):
    tamperable.archive(later(records(4, "run-c"), timedelta(hours=1)))
    newest = Checkpointer(
        tamperable.store,
        tamperable.key,
        log_store=tamperable.log,
        clock=lambda: NOW + timedelta(hours=1, seconds=9),
    ).tick()
    assert newest is not None
    assert tamperable.verify().ok
    tamperable.sql("DELETE FROM merkle_checkpoints WHERE tree_size = :n", n=newest.tree_size)
    tamperable.sql("DELETE FROM merkle_leaf_chunks WHERE first_leaf = 12")
    uncovered, head_beyond = tamperable.verify().failures
    assert uncovered.startswith("4 archived events")
    assert "not covered by the latest valid checkpoint (tree size 12" in uncovered
    assert head_beyond.startswith("the run head of run-c (tree size 16) was signed beyond")


def cut_back(audited: Audited, newest: Checkpoint) -> None:
    """Remove the newest checkpoint, the leaves it added and their archive rows, together."""
    audited.sql("DELETE FROM merkle_checkpoints WHERE tree_size = :n", n=newest.tree_size)
    audited.sql("DELETE FROM merkle_leaf_chunks WHERE first_leaf = 12")
    first_seq, _ = leaf_at(audited, 11)
    audited.sql("DELETE FROM event_archive WHERE seq > :s", s=first_seq)


def test_a_log_cut_back_to_its_previous_checkpoint_is_caught_by_the_run_heads_it_signed(
    tamperable,
):
    tamperable.archive(records(2, "run-a") + records(2, "run-c"))
    newest = tamperable.checkpointer.tick()
    assert newest is not None
    assert tamperable.verify().ok
    cut_back(tamperable, newest)
    assert tamperable.verify().failures == [
        (
            f"the run head of {run} (tree size 16) was signed beyond the latest valid "
            "checkpoint (tree size 12): the log was cut back, its newest checkpoints, "
            "leaves and events removed"
        )
        for run in ("run-a", "run-c")
    ]


def test_a_run_head_rolled_back_to_an_older_copy_is_caught(tamperable):
    older = run_head(tamperable, "run-a")
    tamperable.archive(records(2, "run-a"))
    assert tamperable.checkpointer.tick() is not None
    with tamperable.store.transaction() as conn:
        tamperable.log.put_run_heads(conn, [older], tamperable.log.run_head_count(conn))
    assert tamperable.verify().failures == [
        (
            "the run head of run-a (tree size 12) ends at leaf 6, but the run has an event at "
            "leaf 13: the head was rolled back to an older one"
        )
    ]


def run_head(audited: Audited, run_id: str) -> RunHead:
    with audited.store.transaction(read_only=True) as conn:
        return audited.log.run_heads(conn, [run_id])[run_id]


def test_each_checkpoint_signs_the_heads_of_the_runs_it_touched(tamperable):
    trusted = Verifier({"telemetry-1": tamperable.key.public_key_b64()})
    before = run_head(tamperable, "run-a")
    assert (before.tree_size, before.events, before.last_leaf) == (12, 7, 6)
    assert before.terminal_leaf is None
    assert before.verify(trusted)

    ended = records(2, "run-a")
    ended[-1] = dataclasses.replace(ended[-1], event_type=m.RunCompleted.EVENT_TYPE)
    tamperable.archive(ended)
    assert tamperable.checkpointer.tick() is not None

    after = run_head(tamperable, "run-a")
    assert (after.tree_size, after.events, after.last_leaf, after.terminal_leaf) == (
        14,
        9,
        13,
        13,
    )
    assert after.verify(trusted)
    assert run_head(tamperable, "run-b").tree_size == 12, "untouched runs keep their head"


def test_a_log_cut_back_with_the_run_heads_it_signed_deleted_is_caught_by_the_count(tamperable):
    tamperable.archive(records(2, "run-a") + records(2, "run-c"))
    newest = tamperable.checkpointer.tick()
    assert newest is not None
    assert newest.run_heads == 3
    cut_back(tamperable, newest)
    tamperable.sql("DELETE FROM merkle_run_heads WHERE run_id IN ('run-a', 'run-c')")
    assert tamperable.verify().failures == [
        (
            "the latest valid checkpoint (tree size 12) counts 2 runs with a signed run head, "
            "the store holds 1: run heads were deleted"
        )
    ]
