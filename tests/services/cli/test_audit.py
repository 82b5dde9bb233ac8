"""``agentdeck audit``: verify the archive, export a run's bundle, check it anywhere."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from agentdeck.audit import VerificationFailed, key_fingerprint
from agentdeck.audit._fast import prove_intact
from agentdeck.cli.audit import _StoreArchive, _StoreLog, audit_app
from agentdeck.cli.audit_keys import NoTrustedKey
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.contracts import models as m
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.signing import Signer, Verifier, generate_private_key
from agentdeck.store import ArchiveRecord, Store, migrate
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import archive_records
from testkit.sql import BACKENDS, databases_for

runner = CliRunner()


@pytest.fixture(autouse=True)
def verifier_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The verifier's own data dir: empty, so no embedded key file is trusted by accident."""
    data_dir = tmp_path / "verifier"
    data_dir.mkdir()
    monkeypatch.setenv("AGENTDECK_DATA_DIR", str(data_dir))
    return data_dir


def records(n: int, run_id: str) -> list[ArchiveRecord]:
    return archive_records(n, run_id, partition=0, headers=())


def checkpointed(store: Store, run_id: str, key: Signer | None = None) -> Signer:
    """Archive a run among others' events and checkpoint the log; the checkpoint key."""
    key = key or Signer("telemetry-1", generate_private_key())
    with store.transaction() as conn:
        store.archive.append_many(conn, records(3, f"other-{uuid.uuid4().hex}"))
        store.archive.append_many(conn, records(4, run_id))
        store.archive.append_many(conn, records(2, f"other-{uuid.uuid4().hex}"))
    assert Checkpointer(store, key).tick() is not None
    return key


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def trusting(key: Signer) -> list[str]:
    return ["--public-key", f"{key.key_id}={key.public_key_b64()}"]


def export(store: Store, run_id: str, out: Path) -> dict:
    result = runner.invoke(
        audit_app, ["export", run_id, "--out", str(out), "--database-url", url_of(store.engine)]
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.fixture(params=BACKENDS)
def own_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of this test's own: the log's default state keys are not shared."""
    databases = databases_for(request, tmp_path / "databases")
    engine = databases.new_engine()
    migrate(engine, *SERVICE_SCHEMAS)
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


def test_the_fast_pass_proves_an_intact_archive_on_every_backend(own_engine):
    """Each backend's stored read is the form version 2 leaves cover, so the fast pass,
    reading in forked stretches, proves an intact archive without the exact pass."""
    store, key = Store(own_engine), Signer("telemetry-1", generate_private_key())
    headers = (("traceparent", b"00-ab"), ("empty", None))
    with store.transaction() as conn:
        store.archive.append_many(conn, archive_records(9, "run-h", headers=headers))
    assert Checkpointer(store, key).tick() is not None
    log = MerkleLogStore()
    with store.transaction(read_only=True) as conn:
        checkpoints = log.checkpoints(conn)
    trusted = Verifier({key.key_id: key.public_key_b64()})
    archive = _StoreArchive(store)
    proven = prove_intact(checkpoints, _StoreLog(store), archive, trusted, refs=None, processes=2)
    assert proven is not None
    assert proven.events == 9


def test_a_bundle_verifies_alone_with_the_trusted_key_and_a_flipped_byte_in_it_fails(tmp_path):
    run_id = f"run-{uuid.uuid4().hex}"
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = checkpointed(store, run_id)
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

    alone = runner.invoke(audit_app, ["verify-bundle", str(bundle), *trusting(key)])
    assert alone.exit_code == 0, alone.output
    assert "fingerprint" in alone.output

    data = json.loads(bundle.read_text())
    victim = data["events"][1]
    payload = bytearray(base64.b64decode(victim["payload_b64"]))
    payload[5] ^= 0x20
    victim["payload_b64"] = base64.b64encode(payload).decode()
    bundle.write_text(json.dumps(data))
    tampered = runner.invoke(audit_app, ["verify-bundle", str(bundle), *trusting(key)])
    assert tampered.exit_code == 1
    assert isinstance(tampered.exception, VerificationFailed)
    assert (
        f"event {victim['event_id']} (leaf {victim['leaf_index']}) was altered" in tampered.output
    )


def test_verify_fails_with_the_deleted_event_named(tmp_path):
    run_id = f"run-{uuid.uuid4().hex}"
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = checkpointed(store, run_id)
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
        victim = store.archive.read_run(conn, run_id)[1]
        conn.execute(text("DELETE FROM event_archive WHERE seq = :s"), {"s": victim.seq})
    url = url_of(store.engine)
    store.close()

    result = runner.invoke(audit_app, ["verify", "--database-url", url, *trusting(key)])
    assert result.exit_code == 1
    assert f"event {victim.event_id} (leaf 4, seq {victim.seq}) was deleted" in result.output


def test_export_of_a_run_not_yet_checkpointed_says_so(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
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


def delete_merkle_log(conn: Connection) -> None:
    """Every row of telemetry's Merkle log gone, as an intruder would remove it."""
    for table in TELEMETRY.metadata.sorted_tables:
        if table.name.startswith("merkle_"):
            conn.execute(table.delete())


def tamperable(tmp_path: Path) -> Store:
    """A throwaway SQLite store whose archive accepts UPDATE and DELETE, as an intruder's would."""
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_update"))
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
    return store


def test_verify_without_a_trusted_key_says_unverified_and_fails(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    checkpointed(store, f"run-{uuid.uuid4().hex}")
    result = runner.invoke(audit_app, ["verify", "--database-url", url_of(store.engine)])
    store.close()
    assert result.exit_code == 1
    assert isinstance(result.exception, NoTrustedKey)
    assert "unverified: no trusted key" in result.output
    assert "verified: archive" not in result.output


def test_a_log_rewritten_and_re_signed_in_the_store_fails_under_the_trusted_key(tmp_path):
    store = tamperable(tmp_path)
    run_id = f"run-{uuid.uuid4().hex}"
    genuine = checkpointed(store, run_id)
    with store.transaction() as conn:
        conn.execute(text("UPDATE event_archive SET payload = :p WHERE seq = 2"), {"p": b"forged"})
        delete_merkle_log(conn)
    intruder = Signer("telemetry-1", generate_private_key())
    assert Checkpointer(store, intruder).tick() is not None  # publishes the intruder's key
    url = url_of(store.engine)

    unpinned = runner.invoke(audit_app, ["verify", "--database-url", url])
    pinned = runner.invoke(audit_app, ["verify", "--database-url", url, *trusting(genuine)])
    store.close()

    assert unpinned.exit_code == 1
    assert "unverified: no trusted key" in unpinned.output
    assert pinned.exit_code == 1
    assert "signature does not verify under key 'telemetry-1'" in pinned.output
    assert "no valid signed checkpoint covers the archive: its 9 events are unproven" in (
        pinned.output
    )


def test_verify_fails_when_the_merkle_log_is_gone_and_a_payload_rewritten(tmp_path):
    store = tamperable(tmp_path)
    key = checkpointed(store, f"run-{uuid.uuid4().hex}")
    with store.transaction() as conn:
        delete_merkle_log(conn)
        conn.execute(text("UPDATE event_archive SET payload = :p WHERE seq = 2"), {"p": b"forged"})
    result = runner.invoke(
        audit_app, ["verify", "--database-url", url_of(store.engine), *trusting(key)]
    )
    store.close()
    assert result.exit_code == 1
    assert "no valid signed checkpoint covers the archive: its 9 events are unproven" in (
        result.output
    )
    assert "verified: archive" not in result.output


def test_events_archived_after_the_last_checkpoint_beyond_the_lag_fail_verify(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = checkpointed(store, f"run-{uuid.uuid4().hex}")
    with store.transaction() as conn:
        store.archive.append_many(conn, records(3, f"run-{uuid.uuid4().hex}"))
    url = url_of(store.engine)
    lax = runner.invoke(audit_app, ["verify", "--database-url", url, *trusting(key)])
    strict = runner.invoke(
        audit_app,
        ["verify", "--database-url", url, *trusting(key), "--max-lag-events", "2"],
    )
    store.close()
    assert lax.exit_code == 0, lax.output
    assert "3 logged events" not in lax.output
    assert strict.exit_code == 1
    assert "3 archived events" in strict.output
    assert "more than the allowed 2" in strict.output


def test_verify_bundle_without_a_trusted_key_says_unverified(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    run_id = f"run-{uuid.uuid4().hex}"
    checkpointed(store, run_id)
    export(store, run_id, tmp_path / "bundle.json")
    store.close()
    result = runner.invoke(audit_app, ["verify-bundle", str(tmp_path / "bundle.json")])
    assert result.exit_code == 1
    assert "unverified: no trusted key" in result.output
    assert "verified: bundle" not in result.output


def test_a_bundle_rebuilt_and_signed_with_the_forgers_own_key_fails(tmp_path):
    store = tamperable(tmp_path)
    run_id = f"run-{uuid.uuid4().hex}"
    genuine = checkpointed(store, run_id)
    forger = Signer("telemetry-1", generate_private_key())
    with store.transaction() as conn:
        delete_merkle_log(conn)
        victim = store.archive.read_run(conn, run_id)[-1]
        conn.execute(text("DELETE FROM event_archive WHERE seq = :s"), {"s": victim.seq})
    assert Checkpointer(store, forger).tick() is not None
    bundle = tmp_path / "forged.json"
    export(store, run_id, bundle)
    store.close()

    unpinned = runner.invoke(audit_app, ["verify-bundle", str(bundle)])
    assert unpinned.exit_code == 1
    assert "unverified: no trusted key" in unpinned.output
    result = runner.invoke(audit_app, ["verify-bundle", str(bundle), *trusting(genuine)])
    assert result.exit_code == 1
    assert "the bundled public key is not the trusted key 'telemetry-1'" in result.output
    assert "does not verify under the trusted key 'telemetry-1'" in result.output


def test_the_embedded_stacks_key_file_is_the_default_trust_root(tmp_path, verifier_data_dir):
    keys = load_or_create(verifier_data_dir)
    telemetry = Signer("telemetry-1", keys.checkpoint_private)
    store = Store.open("", data_dir=str(verifier_data_dir), schemas=(TELEMETRY,))
    run_id = f"run-{uuid.uuid4().hex}"
    checkpointed(store, run_id, telemetry)
    export(store, run_id, tmp_path / "run.json")
    store.close()

    verified = runner.invoke(audit_app, ["verify"])  # the README's command, as is
    checked = runner.invoke(audit_app, ["verify-bundle", str(tmp_path / "run.json")])

    assert verified.exit_code == 0, verified.output
    assert checked.exit_code == 0, checked.output
    for output in (verified.output, checked.output):
        assert "from the embedded stack's key file" in output
        assert key_fingerprint(telemetry.public_key_b64()) in output


def test_trusted_keys_come_from_a_key_file(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    run_id = f"run-{uuid.uuid4().hex}"
    key = checkpointed(store, run_id)
    export(store, run_id, tmp_path / "run.json")
    store.close()
    ring = tmp_path / "trusted.json"
    ring.write_text(json.dumps({key.key_id: key.public_key_b64()}))
    result = runner.invoke(
        audit_app, ["verify-bundle", str(tmp_path / "run.json"), "--trusted-keys", str(ring)]
    )
    assert result.exit_code == 0, result.output
    assert f"verified: bundle of {run_id}" in result.output


def test_a_bundle_with_its_last_events_cut_off_fails_even_under_the_trusted_key(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    run_id = f"run-{uuid.uuid4().hex}"
    run = records(6, run_id)
    run[-1] = dataclasses.replace(run[-1], event_type=m.RunCompleted.EVENT_TYPE)
    key = Signer("telemetry-1", generate_private_key())
    with store.transaction() as conn:
        store.archive.append_many(conn, run)
    assert Checkpointer(store, key).tick() is not None
    path = tmp_path / "run.json"
    exported = runner.invoke(
        audit_app, ["export", run_id, "--out", str(path), "--database-url", url_of(store.engine)]
    )
    store.close()
    assert exported.exit_code == 0, exported.output
    assert "6 events, the last at leaf 5, ended at leaf 5" in exported.output

    whole = runner.invoke(audit_app, ["verify-bundle", str(path), *trusting(key)])
    assert whole.exit_code == 0, whole.output
    assert f"complete: run {run_id}" in whole.output
    assert "(RunCompleted)" in whole.output

    data = json.loads(path.read_text())
    data["events"] = data["events"][:-3]  # RunCompleted and the two before it
    path.write_text(json.dumps(data))
    cut = runner.invoke(audit_app, ["verify-bundle", str(path), *trusting(key)])
    assert cut.exit_code == 1
    assert (
        "the run's last event (leaf 5, per its signed run head) is missing: the bundle ends "
        f"at leaf 2; events were cut off the end of run {run_id}"
    ) in cut.output
    assert "the run's terminal event (leaf 5, per its signed run head) is missing" in cut.output
    assert f"the bundle holds 3 events of run {run_id}; its signed run head counts 6" in (
        cut.output
    )


def test_verify_catches_a_store_cut_back_to_its_previous_checkpoint(tmp_path):
    store = tamperable(tmp_path)
    run_id = f"run-{uuid.uuid4().hex}"
    key = checkpointed(store, run_id)  # 9 events, checkpoint at tree size 9
    with store.transaction() as conn:
        store.archive.append_many(conn, records(3, run_id))
    assert Checkpointer(store, key).tick() is not None  # tree size 12
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM merkle_checkpoints WHERE tree_size = 12"))
        conn.execute(text("DELETE FROM merkle_leaf_chunks WHERE first_leaf = 9"))
        conn.execute(text("DELETE FROM event_archive WHERE seq > 9"))
    result = runner.invoke(
        audit_app, ["verify", "--database-url", url_of(store.engine), *trusting(key)]
    )
    store.close()
    assert result.exit_code == 1
    assert (
        f"the run head of {run_id} (tree size 12) was signed beyond the latest valid checkpoint "
        "(tree size 9): the log was cut back"
    ) in result.output


def test_a_bundle_proves_the_log_extends_the_checkpoint_that_first_covered_its_run(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    run_id = f"run-{uuid.uuid4().hex}"
    key = checkpointed(store, run_id)  # tree size 9
    with store.transaction() as conn:
        store.archive.append_many(conn, records(2, run_id))
    assert Checkpointer(store, key).tick() is not None  # tree size 11
    path = tmp_path / "run.json"
    export(store, run_id, path)
    store.close()
    data = json.loads(path.read_text())
    assert (data["first_checkpoint"]["tree_size"], data["checkpoint"]["tree_size"]) == (9, 11)

    checked = runner.invoke(audit_app, ["verify-bundle", str(path), *trusting(key)])
    assert checked.exit_code == 0, checked.output
    assert "the log at tree size 11 extends, unchanged, the one that first covered the run " in (
        checked.output
    )

    data["consistency"] = data["consistency"][::-1]
    path.write_text(json.dumps(data))
    altered = runner.invoke(audit_app, ["verify-bundle", str(path), *trusting(key)])
    assert altered.exit_code == 1
    assert "is not a prefix of the bundle's checkpoint (tree size 11)" in altered.output
