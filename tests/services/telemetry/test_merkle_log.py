"""Contract: telemetry's Merkle log store, on every backend.

The log is one per database, so each test has a migrated database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from agentdeck.audit import (
    MerkleTree,
    RunHead,
    TreeHead,
    audit_origin,
    sign_checkpoint,
    sign_run_head,
    sign_tree_head,
)
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import ArchivedEvent, migrate, transaction
from agentdeck.telemetry.adapters.merkle import LogContention, LogHead, MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA
from testkit.archive import archived_event
from testkit.sql import BACKENDS, databases_for

if TYPE_CHECKING:
    from testkit.sql import NewId

log = MerkleLogStore()
KEY = Signer("telemetry-1", generate_private_key())
TRUSTED = Verifier({KEY.key_id: KEY.public_key_b64()})


@pytest.fixture(params=BACKENDS)
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of this test's own, with telemetry's tables."""
    databases = databases_for(request, tmp_path / "databases")
    engine = databases.new_engine()
    migrate(engine, SCHEMA)
    yield engine
    databases.close()


def events(first_seq: int, *run_ids: str | None) -> list[ArchivedEvent]:
    made = []
    for seq, run_id in enumerate(run_ids, start=first_seq):
        event = archived_event(seq, run_id or "none")
        made.append(event if run_id else replace(event, run_id=None))
    return made


def appended(engine: Engine, batch: list[ArchivedEvent]) -> LogHead:
    with transaction(engine) as conn:
        return log.append(conn, log.head(conn), batch)


def test_an_empty_log_holds_nothing(own: Engine) -> None:
    with transaction(own, read_only=True) as conn:
        head = log.head(conn)
        assert (head.frontier.size, head.last_seq, head.version) == (0, 0, None)
        assert log.leaves(conn) == []
        assert log.chunk_starts(conn) == []
        assert log.leaf_seq(conn, 0) is None
        assert log.checkpoints(conn) == []
        assert log.latest_note(conn) is None
        assert log.published_keys(conn) == {}
        assert log.run_head_count(conn) == 0
        assert log.all_run_heads(conn) == []
        assert log.run_heads(conn, ["run-a"]) == {}


def test_appends_chain_each_run_and_the_head_reads_back_as_written(
    own: Engine, new_id: NewId
) -> None:
    a, b = new_id("run"), new_id("run")
    first = appended(own, events(1, a, b, None, a))
    second = appended(own, events(5, b, a))

    with transaction(own, read_only=True) as conn:
        head = log.head(conn)
        leaves = log.leaves(conn)
        assert log.chunk_starts(conn) == [0, 4]
        assert [row[0] for row in log.leaf_rows(conn, 4, None)] == [4, 5]
        assert [row[0] for row in log.leaf_rows(conn, 0, 4)] == [0, 1, 2, 3]
        assert [log.leaf_seq(conn, i) for i in (0, 3, 4, 5, 6)] == [1, 4, 5, 6, None]
    assert (first.frontier.size, first.last_seq, first.version) == (4, 4, 1)
    assert (second.frontier.size, second.last_seq, second.version) == (6, 6, 2)
    assert (head.frontier.size, head.last_seq, head.version) == (6, 6, 2)
    assert head.frontier.root() == MerkleTree([x.leaf_hash for x in leaves]).root()
    assert [x.index for x in leaves] == list(range(6))
    assert [x.seq for x in leaves] == list(range(1, 7))
    assert [x.run_prev for x in leaves] == [None, None, None, 0, 1, 3], "each run's chain"


@pytest.mark.parametrize("stale", ["empty", "moved"])
def test_a_writer_holding_a_stale_head_loses_and_writes_nothing(
    own: Engine, new_id: NewId, stale: str
) -> None:
    run = new_id("run")
    if stale == "moved":
        appended(own, events(1, run))
    with transaction(own, read_only=True) as conn:
        seen = log.head(conn)
    winner = appended(own, events(seen.last_seq + 1, run, run))
    with pytest.raises(LogContention), transaction(own) as conn:
        log.append(conn, seen, events(seen.last_seq + 1, run))
    with transaction(own, read_only=True) as conn:
        head = log.head(conn)
        assert (head.frontier.size, head.version) == (winner.frontier.size, winner.version)
        assert len(log.leaves(conn)) == winner.frontier.size


def test_checkpoints_read_back_exactly_as_signed_and_a_later_one_replaces_its_size(
    own: Engine, now: datetime
) -> None:
    signed_at = now + timedelta(microseconds=123)  # a fraction of a millisecond too
    small = sign_checkpoint(KEY, 3, b"\x01" * 32, signed_at, run_heads=2)
    old_style = sign_checkpoint(KEY, 12, b"\x02" * 32, signed_at)  # before run heads: None
    with transaction(own) as conn:
        log.add_checkpoint(conn, old_style, "not the key")
        log.add_checkpoint(conn, small, KEY.public_key_b64())
    with transaction(own, read_only=True) as conn:
        assert log.checkpoints(conn) == [small, old_style], "by tree size"
        assert log.published_keys(conn) == {KEY.key_id: KEY.public_key_b64()}, "the last wins"
    assert all(cp.verify(TRUSTED) for cp in (small, old_style))

    swapped = sign_checkpoint(KEY, 12, b"\x03" * 32, signed_at)
    with transaction(own) as conn:
        log.add_checkpoint(conn, swapped, KEY.public_key_b64())
        assert log.checkpoints(conn) == [small, swapped]


def test_the_latest_note_is_that_of_the_largest_tree(own: Engine) -> None:
    origin = audit_origin("agentdeck")
    notes = {
        size: sign_tree_head(KEY, TreeHead(origin, size, bytes([size]) * 32)).render()
        for size in (9, 10, 2)
    }
    with transaction(own) as conn:
        for size, note in notes.items():
            log.add_note(conn, size, note)
        assert log.latest_note(conn) == notes[10]
        log.add_note(conn, 10, "replaced")
        assert log.latest_note(conn) == "replaced"


def test_run_heads_replace_their_runs_and_the_count_is_kept_apart(
    own: Engine, new_id: NewId, now: datetime
) -> None:
    a, b = sorted([new_id("run"), new_id("run")])

    def head(run_id: str, tree_size: int, terminal: int | None = None) -> RunHead:
        return sign_run_head(
            KEY,
            run_id,
            tree_size=tree_size,
            events=tree_size - 1,
            last_leaf=tree_size - 1,
            terminal_leaf=terminal,
            now=now + timedelta(microseconds=7),
        )

    first_a, first_b, later_a = head(a, 4), head(b, 5), head(a, 9, terminal=8)
    with transaction(own) as conn:
        log.put_run_heads(conn, [first_b, first_a], 2)  # no head yet: the count still holds
        assert log.run_head_count(conn) == 2
        assert log.head(conn).frontier.size == 0
        log.put_run_heads(conn, [later_a], 7)
    with transaction(own, read_only=True) as conn:
        assert log.run_head_count(conn) == 7
        assert log.all_run_heads(conn) == [later_a, first_b], "one per run, by run id"
        assert log.run_heads(conn, [a, "run-unknown"]) == {a: later_a}
    assert later_a.verify(TRUSTED)

    appended(own, events(1, a))  # a log started after the count: the count stays
    with transaction(own) as conn:
        assert log.run_head_count(conn) == 7
        log.put_run_heads(conn, [], 8)
    with transaction(own, read_only=True) as conn:
        assert log.run_head_count(conn) == 8
        assert log.head(conn).frontier.size == 1


def test_deleting_run_heads_leaves_the_count(own: Engine, new_id: NewId, now: datetime) -> None:
    run = new_id("run")
    signed = sign_run_head(
        KEY, run, tree_size=1, events=1, last_leaf=0, terminal_leaf=None, now=now
    )
    appended(own, events(1, run))
    with transaction(own) as conn:
        log.put_run_heads(conn, [signed], 1)
        conn.exec_driver_sql("DELETE FROM merkle_run_heads")
        assert (log.all_run_heads(conn), log.run_head_count(conn)) == ([], 1)
