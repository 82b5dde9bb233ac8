"""``agentdeck audit``: verify the archive, export a run's bundle, check it anywhere."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from agentdeck.audit import VerificationFailed
from agentdeck.cli.audit import audit_app
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import ArchiveRecord, Store, migrate
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import archive_records
from testkit.sql import BACKENDS, databases_for

runner = CliRunner()


def records(n: int, run_id: str) -> list[ArchiveRecord]:
    return archive_records(n, run_id, partition=0, headers=())


def checkpointed(store: Store, run_id: str) -> Signer:
    """Archive a run among others' events and checkpoint the log; the checkpoint key."""
    key = Signer("telemetry-1", generate_private_key())
    with store.transaction() as conn:
        store.archive.append_many(conn, records(3, f"other-{uuid.uuid4().hex}"))
        store.archive.append_many(conn, records(4, run_id))
        store.archive.append_many(conn, records(2, f"other-{uuid.uuid4().hex}"))
    assert Checkpointer(store, key).tick() is not None
    return key


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def own_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of this test's own: the log's default state keys are not shared."""
    databases = databases_for(request, tmp_path / "databases")
    engine = databases.new_engine()
    migrate(engine)
    yield engine
    databases.close()


def test_verify_export_and_verify_bundle_on_every_backend(own_engine, tmp_path):
    run_id = f"run-{uuid.uuid4().hex}"
    key = checkpointed(Store(own_engine), run_id)
    url = url_of(own_engine)
    trusted = f"telemetry-1={key.public_key_b64()}"

    verified = runner.invoke(audit_app, ["verify", "--database-url", url, "--public-key", trusted])
    assert verified.exit_code == 0, verified.output
    assert "verified: archive" in verified.output

    bundle = tmp_path / "elsewhere" / "bundle.json"
    bundle.parent.mkdir()
    exported = runner.invoke(
        audit_app, ["export", run_id, "--out", str(bundle), "--database-url", url]
    )
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(bundle.read_text())["events"]) == 4

    checked = runner.invoke(audit_app, ["verify-bundle", str(bundle), "--public-key", trusted])
    assert checked.exit_code == 0, checked.output
    assert f"verified: bundle of {run_id}: 4 events, 1 checkpoint(s)" in checked.output


def test_a_bundle_verifies_alone_and_a_flipped_byte_in_it_fails(tmp_path):
    run_id = f"run-{uuid.uuid4().hex}"
    store = Store.open("", data_dir=str(tmp_path / "store"))
    checkpointed(store, run_id)
    url = url_of(store.engine)
    store.close()
    bundle = tmp_path / "bundle.json"
    assert (
        runner.invoke(
            audit_app, ["export", run_id, "--out", str(bundle), "--database-url", url]
        ).exit_code
        == 0
    )
    (tmp_path / "store" / "agentdeck.db").unlink()  # nothing but the bundle is left

    alone = runner.invoke(audit_app, ["verify-bundle", str(bundle)])
    assert alone.exit_code == 0, alone.output
    assert "fingerprint" in alone.output

    data = json.loads(bundle.read_text())
    victim = data["events"][1]
    payload = bytearray(base64.b64decode(victim["payload_b64"]))
    payload[5] ^= 0x20
    victim["payload_b64"] = base64.b64encode(payload).decode()
    bundle.write_text(json.dumps(data))
    tampered = runner.invoke(audit_app, ["verify-bundle", str(bundle)])
    assert tampered.exit_code == 1
    assert isinstance(tampered.exception, VerificationFailed)
    assert (
        f"event {victim['event_id']} (leaf {victim['leaf_index']}) was altered" in tampered.output
    )


def test_verify_fails_with_the_deleted_event_named(tmp_path):
    run_id = f"run-{uuid.uuid4().hex}"
    store = Store.open("", data_dir=str(tmp_path / "store"))
    checkpointed(store, run_id)
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
        victim = store.archive.read_run(conn, run_id)[1]
        conn.execute(text("DELETE FROM event_archive WHERE seq = :s"), {"s": victim.seq})
    url = url_of(store.engine)
    store.close()

    result = runner.invoke(audit_app, ["verify", "--database-url", url])
    assert result.exit_code == 1
    assert f"event {victim.event_id} (leaf 4, seq {victim.seq}) was deleted" in result.output
    assert "trusting the keys published in the store" in result.output


def test_export_of_a_run_not_yet_checkpointed_says_so(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"))
    checkpointed(store, "run-known")
    url = url_of(store.engine)
    store.close()
    result = runner.invoke(
        audit_app,
        ["export", "run-unknown", "--out", str(tmp_path / "b.json"), "--database-url", url],
    )
    assert result.exit_code == 1
    assert "no events of run run-unknown are covered by the latest checkpoint" in str(
        result.exception
    )
