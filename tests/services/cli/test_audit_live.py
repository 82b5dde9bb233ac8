"""Verifying a live store: telemetry checkpoints on while ``audit verify`` reads.

The checkpoints and the run heads a verification judges the log by must be one
state of the store: a checkpoint committed between reading them would make
the heads it signed look signed beyond the latest checkpoint, the mark of a
log cut back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from agentdeck.audit import Checkpoint, Completeness
from agentdeck.cli.audit import audit_app, verify_archive
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import ArchiveRecord, Store
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import NOW, archive_records
from testkit.sql import Databases

KEY = Signer("telemetry-1", generate_private_key())
VERIFIER = Verifier({KEY.key_id: KEY.public_key_b64()})
LENIENT = Completeness(max_lag_events=10**9, max_lag_s=10**9)
runner = CliRunner()


def _checkpoint_all(checkpointer: Checkpointer) -> None:
    while checkpointer.tick() is not None:
        pass


def _live_store(
    databases: Databases,
    monkeypatch: pytest.MonkeyPatch,
    first: list[ArchiveRecord],
    more: list[ArchiveRecord],
) -> tuple[Store, list[int]]:
    """A store holding ``first``, checkpointed; the first time a command reads its
    checkpoints, telemetry archives ``more`` and checkpoints them (run heads and all). The
    list says how many checkpoints that read found, once it happened."""
    url = databases.new_engine().url.render_as_string(hide_password=False)
    store = Store.open(url, schemas=(TELEMETRY,))
    checkpointer = Checkpointer(store, KEY, clock=lambda: NOW, page=10, max_pages=2)
    with store.transaction() as conn:
        store.archive.append_many(conn, first)
    _checkpoint_all(checkpointer)
    read = MerkleLogStore.checkpoints
    went_on: list[int] = []

    def checkpoints_meanwhile(self: MerkleLogStore, conn: Connection) -> Sequence[Checkpoint]:
        found = read(self, conn)
        if not went_on:
            went_on.append(len(found))
            with store.transaction() as other:
                store.archive.append_many(other, more)
            _checkpoint_all(checkpointer)
        return found

    monkeypatch.setattr(MerkleLogStore, "checkpoints", checkpoints_meanwhile)
    return store, went_on


def _signed(store: Store) -> int:
    with store.transaction(read_only=True) as conn:
        return len(conn.execute(text("SELECT key_id FROM merkle_checkpoints")).all())


def test_a_checkpoint_committed_while_the_store_is_verified_is_no_failure(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    more = archive_records(10, "run-a") + archive_records(10, "run-b")
    store, went_on = _live_store(databases, monkeypatch, archive_records(20, "run-a"), more)
    try:
        report = verify_archive(store, VERIFIER, LENIENT)
        signed = _signed(store)
    finally:
        store.close()

    assert went_on
    assert signed > went_on[0]  # a checkpoint did come in meanwhile
    assert report.ok, report.failures
    assert report.checkpoints == went_on[0]


def test_a_run_exported_while_telemetry_checkpoints_on_verifies(
    databases: Databases, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTDECK_DATA_DIR", str(tmp_path / "verifier"))  # no key by accident
    first, more = archive_records(4, "run-a"), archive_records(3, "run-a")  # the run goes on
    store, went_on = _live_store(databases, monkeypatch, first, more)
    url = store.engine.url.render_as_string(hide_password=False)
    bundle = tmp_path / "bundle.json"
    try:
        exported = runner.invoke(
            audit_app, ["export", "run-a", "--out", str(bundle), "--database-url", url]
        )
        signed = _signed(store)
    finally:
        store.close()
    assert exported.exit_code == 0, exported.output
    assert went_on
    assert signed > went_on[0]

    trusted = f"{KEY.key_id}={KEY.public_key_b64()}"
    checked = runner.invoke(audit_app, ["verify-bundle", str(bundle), "--public-key", trusted])
    assert checked.exit_code == 0, checked.output
    assert "verified: bundle of run-a: 4 events" in checked.output
