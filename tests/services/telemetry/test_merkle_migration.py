"""Revision t0003: a Merkle log kept in ``service_state`` moves into telemetry's tables.

The old log is written the way the old code wrote it (JSON and text under
``telemetry-checkpoints`` in ``service_state``); after migrating, the archive still
verifies against it, byte for byte, and the checkpointer extends it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, column, insert, table, text

from agentdeck.audit import (
    AuditReport,
    Frontier,
    TreeHead,
    audit_origin,
    log_events,
    sign_checkpoint,
    sign_run_head,
    sign_tree_head,
    verify_log,
)
from agentdeck.audit._fast import prove_intact
from agentdeck.cli.audit import _StoreArchive, _StoreLog
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import Store, current_revision, head_revision, migrate
from agentdeck.store._migrate import _config
from agentdeck.store.sql import UtcDateTime
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import NOW, archive_records
from testkit.sql import BACKENDS, databases_for

OLD = "telemetry-checkpoints"
KEY = Signer("telemetry-1", generate_private_key())
TRUSTED = Verifier({KEY.key_id: KEY.public_key_b64()})
SIGNED_AT = NOW + timedelta(microseconds=654321)
BAG = table(
    "service_state",
    column("service"),
    column("key"),
    column("version"),
    column("state"),
    column("updated_at", UtcDateTime()),
)
"""The shared bag as the old code wrote it."""


@pytest.fixture(params=BACKENDS)
def before(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database whose telemetry tables stop at t0002, as before the log moved."""
    databases = databases_for(request, tmp_path / "databases")
    engine = databases.new_engine()
    migrate(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn, SCHEMA), "t0002")
    yield engine
    databases.close()


def _old_log(store: Store) -> dict[str, object]:
    """Archive two runs, log them in two chunks and checkpoint both, as the old code did."""
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(4, "run-a") + archive_records(3, "run-b"))
        store.archive.append_many(conn, archive_records(2, "run-a"))
        archived = store.archive.iter_from(conn, 0, 100)
    last_of_run: dict[str, int] = {}
    frontier = Frontier()
    values: dict[str, str] = {}
    checkpoints = []
    for first, end in ((0, 7), (7, 9)):
        leaves = log_events(archived[first:end], first, last_of_run, version=1)  # as then
        for leaf in leaves:
            frontier.append(leaf.leaf_hash)
        rows = [[x.seq, x.event_id, x.leaf_hash.hex(), x.run_prev] for x in leaves]
        values[f"leaves/{first:015d}"] = json.dumps({"first": first, "leaves": rows})
        cp = sign_checkpoint(KEY, end, frontier.root(), SIGNED_AT, run_heads=2)
        checkpoints.append(cp)
        values[f"checkpoint/{end:015d}"] = cp.model_dump_json()
        note = sign_tree_head(KEY, TreeHead(audit_origin("agentdeck"), end, cp.root()))
        values[f"note/{end:015d}"] = note.render()
    heads = [
        sign_run_head(
            KEY, "run-a", tree_size=9, events=6, last_leaf=8, terminal_leaf=None, now=SIGNED_AT
        ),
        sign_run_head(
            KEY, "run-b", tree_size=7, events=3, last_leaf=6, terminal_leaf=None, now=SIGNED_AT
        ),
    ]
    values |= {f"runhead/{h.run_id}": h.model_dump_json() for h in heads}
    values |= {f"run/{run}": str(index) for run, index in last_of_run.items()}
    values |= {f"key/{KEY.key_id}": KEY.public_key_b64(), "runheads": "2"}
    head = {"size": 9, "last_seq": archived[-1].seq, "frontier": [n.hex() for n in frontier.nodes]}
    values["head"] = json.dumps(head)
    # Another service's rows stay, even under a key like the log's.
    others = [("planner", "run:x", "{}"), ("planner", "key/other", "not a key")]
    bag = [*((OLD, key, state) for key, state in values.items()), *others]
    with store.transaction() as conn:  # the head at version 2: the log was extended once
        conn.execute(
            insert(BAG),
            [
                {
                    "service": service,
                    "key": key,
                    "version": 2 if key == "head" else 1,
                    "state": state,
                    "updated_at": NOW,
                }
                for service, key, state in bag
            ],
        )
    return {
        "checkpoints": checkpoints,
        "heads": heads,
        "root": frontier.root(),
        "last_of_run": dict(last_of_run),
        "note": values[f"note/{9:015d}"],
    }


def _verified(store: Store, conn: Connection) -> AuditReport:
    """The exact pass over the store's whole log and archive, trusting KEY."""
    log = MerkleLogStore()
    return verify_log(
        log.checkpoints(conn),
        log.leaves(conn),
        store.archive.iter_from(conn, 0, 100),
        TRUSTED,
        run_heads=log.all_run_heads(conn),
    )


def test_the_old_log_moves_into_telemetry_s_tables_and_still_proves_the_archive(
    before: Engine,
) -> None:
    store = Store(before)
    old = _old_log(store)

    migrate(before, SCHEMA)

    assert current_revision(before, SCHEMA) == head_revision(SCHEMA)
    log = MerkleLogStore()
    with store.transaction(read_only=True) as conn:
        left = conn.execute(text("SELECT service, key FROM service_state")).all()
        assert sorted(tuple(row) for row in left) == [
            ("planner", "key/other"),
            ("planner", "run:x"),
        ]
        head = log.head(conn)
        assert (head.frontier.size, head.last_seq, head.version) == (9, 9, 2)
        assert head.frontier.root() == old["root"]
        assert log.chunk_starts(conn) == [0, 7]
        assert log.checkpoints(conn) == old["checkpoints"]
        assert log.latest_note(conn) == old["note"]
        assert log.published_keys(conn) == {KEY.key_id: KEY.public_key_b64()}
        assert log.all_run_heads(conn) == old["heads"]
        assert log.run_head_count(conn) == 2
        rows = conn.execute(text("SELECT run_id, leaf_index FROM merkle_run_last_leaf")).all()
        assert dict(tuple(row) for row in rows) == old["last_of_run"]
        report = _verified(store, conn)
    assert report.ok, report.failures
    assert (report.events, report.checkpoints) == (9, 2)

    with store.transaction() as conn:  # the moved log grows on, each run's chain unbroken
        store.archive.append_many(conn, archive_records(1, "run-b"))
    grown = Checkpointer(store, KEY, clock=lambda: NOW + timedelta(minutes=1)).tick()
    assert grown is not None
    assert (grown.tree_size, grown.run_heads) == (10, 2)
    with store.transaction(read_only=True) as conn:
        assert log.leaves(conn)[-1].run_prev == 6, "run-b's chain goes on from its last leaf"
        report = _verified(store, conn)
        versions = [leaf.version for leaf in log.leaves(conn)]
        checkpoints = log.checkpoints(conn)
    assert report.ok, report.failures
    assert versions == [1] * 9 + [2], "old leaves keep their encoding, new ones cover the row"
    # Read in stretches (the chunks of either version), the mixed log is proven intact.
    proven = prove_intact(
        checkpoints, _StoreLog(store), _StoreArchive(store), TRUSTED, refs=None, processes=3
    )
    assert proven is not None
    assert (proven.events, proven.leaves) == (10, 10)


def test_a_database_without_a_log_migrates_to_an_empty_one(before: Engine) -> None:
    migrate(before, SCHEMA)
    with Store(before).transaction(read_only=True) as conn:
        assert MerkleLogStore().head(conn).version is None
        assert MerkleLogStore().checkpoints(conn) == []


@pytest.mark.parametrize(
    ("wanted", "refused"),
    [("t0005", "run heads are signed in batches"), ("t0004", "run heads are signed in batches")],
)
def test_downgrading_below_what_the_log_uses_is_refused_and_changes_nothing(
    before: Engine, wanted: str, refused: str
) -> None:
    migrate(before, SCHEMA)
    store = Store(before)
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(3, "run-a"))
    assert Checkpointer(store, KEY, clock=lambda: NOW).tick() is not None

    with pytest.raises(RuntimeError, match=refused), before.begin() as conn:
        command.downgrade(_config(conn, SCHEMA), wanted)

    assert current_revision(before, SCHEMA) == head_revision(SCHEMA)
    with store.transaction(read_only=True) as conn:
        report = _verified(store, conn)
    assert report.ok, report.failures


def test_downgrading_a_log_of_version_2_leaves_is_refused(before: Engine) -> None:
    """With no batched heads (deleted), the leaves still hold the downgrade back."""
    migrate(before, SCHEMA)
    store = Store(before)
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(3, "run-a"))
    assert Checkpointer(store, KEY, clock=lambda: NOW).tick() is not None
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM merkle_run_heads"))

    with pytest.raises(RuntimeError, match="leaves of version 2"), before.begin() as conn:
        command.downgrade(_config(conn, SCHEMA), "t0004")
    assert current_revision(before, SCHEMA) == head_revision(SCHEMA)


def test_an_old_leaf_over_an_instant_stored_in_another_form_is_still_proven_fast(
    before: Engine,
) -> None:
    """Version 1 leaves read from a row in another stored form: canonicalised, as version 2's."""
    if before.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's stored read writes every instant in the canonical form")
    store = Store(before)
    _old_log(store)
    migrate(before, SCHEMA)
    with store.transaction() as conn:
        seq = store.archive.iter_from(conn, 0, 100)[3].seq
        conn.execute(text("DROP TRIGGER event_archive_no_update"))
        # The same instant written with a T and an offset: not the canonical stored form.
        moved = text(
            "UPDATE event_archive SET archived_at = replace(archived_at, ' ', 'T') || '+00:00' "
            "WHERE seq = :seq"
        )
        conn.execute(moved, {"seq": seq})
    with store.transaction(read_only=True) as conn:
        checkpoints = MerkleLogStore().checkpoints(conn)

    proven = prove_intact(
        checkpoints, _StoreLog(store), _StoreArchive(store), TRUSTED, refs=None, processes=2
    )

    assert proven is not None
    assert proven.events == 9
