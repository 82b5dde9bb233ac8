"""``agentdeck audit checkpoint`` and ``audit witness``: a rollback the store alone cannot show."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from agentdeck.audit import (
    RollbackDetected,
    SignedNote,
    TreeHead,
    WitnessRefused,
    audit_origin,
    note_verifier_key,
)
from agentdeck.cli.audit import audit_app
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import ArchiveRecord, Store
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.telemetry.checkpoints import Checkpointer
from testkit.archive import archive_records

runner = CliRunner()
ORIGIN = audit_origin("agentdeck")


@pytest.fixture(autouse=True)
def verifier_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The verifier's own data dir: empty, so no embedded key file is trusted by accident."""
    data_dir = tmp_path / "verifier"
    data_dir.mkdir()
    monkeypatch.setenv("AGENTDECK_DATA_DIR", str(data_dir))
    return data_dir


def records(n: int) -> list[ArchiveRecord]:
    return archive_records(n, f"run-{uuid.uuid4().hex}", partition=0, headers=())


def grow(store: Store, key: Signer, n: int) -> str:
    """Archive a new run of ``n`` events and checkpoint the log; the run's id."""
    batch = records(n)
    with store.transaction() as conn:
        store.archive.append_many(conn, batch)
    assert Checkpointer(store, key).tick() is not None
    return str(batch[0].run_id)


def tamperable(tmp_path: Path) -> Store:
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    with store.transaction() as conn:
        conn.execute(text("DROP TRIGGER event_archive_no_delete"))
    return store


def run_witness(store: Store, key: Signer, state: Path, *extra: str):
    url = store.engine.url.render_as_string(hide_password=False)
    trusting = ["--public-key", f"{key.key_id}={key.public_key_b64()}"]
    return runner.invoke(
        audit_app, ["witness", "--state", str(state), "--database-url", url, *trusting, *extra]
    )


def recorded_sizes(state: Path) -> list[int]:
    notes = [json.loads(line)["note"] for line in state.read_text().splitlines()]
    return [TreeHead.from_text(SignedNote.parse(n).text).tree_size for n in notes]


def test_the_checkpoint_command_prints_a_note_that_verifies_under_the_origins_key(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    grow(store, key, 5)
    url = store.engine.url.render_as_string(hide_password=False)
    result = runner.invoke(audit_app, ["checkpoint", "--database-url", url])
    store.close()
    assert result.exit_code == 0, result.output
    note = SignedNote.parse(result.output)
    assert TreeHead.from_text(note.text).tree_size == 5
    assert note.text.startswith(f"{ORIGIN}\n5\n")
    assert note.verified_by(ORIGIN, key.public_key_b64()) is True


def test_normal_growth_passes_and_every_checkpoint_is_recorded(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    state = tmp_path / "witness.jsonl"
    grow(store, key, 4)
    first = run_witness(store, key, state)
    grow(store, key, 3)
    second = run_witness(store, key, state)
    again = run_witness(store, key, state)
    store.close()
    assert first.exit_code == 0, first.output
    assert "first checkpoint of agentdeck.agentdeck/audit: tree size 4" in first.output
    assert note_verifier_key(ORIGIN, key.public_key_b64()) in first.output
    assert second.exit_code == 0, second.output
    assert "grew from tree size 4: tree size 7" in second.output
    assert again.exit_code == 0, again.output
    assert recorded_sizes(state) == [4, 7, 7]


def test_a_store_cut_back_to_an_earlier_checkpoint_after_the_witness_saw_a_later_one_fails(
    tmp_path,
):
    store = tamperable(tmp_path)
    key = Signer("telemetry-1", generate_private_key())
    state = tmp_path / "witness.jsonl"
    grow(store, key, 9)
    later = grow(store, key, 3)
    assert run_witness(store, key, state).exit_code == 0  # the witness saw tree size 12
    with store.transaction() as conn:  # every trace of the later checkpoint and its run goes
        for statement in (
            "DELETE FROM merkle_checkpoints WHERE tree_size = 12",
            "DELETE FROM merkle_notes WHERE tree_size = 12",
            "DELETE FROM merkle_leaf_chunks WHERE first_leaf = 9",
            "DELETE FROM merkle_run_heads WHERE run_id = :run",
            "DELETE FROM merkle_run_last_leaf WHERE run_id = :run",
            "UPDATE merkle_head SET run_heads = 1",
        ):
            conn.execute(text(statement), {"run": later})
        conn.execute(text("DELETE FROM event_archive WHERE seq > 9"))
    url = store.engine.url.render_as_string(hide_password=False)
    trusting = ["--public-key", f"{key.key_id}={key.public_key_b64()}"]
    verified = runner.invoke(audit_app, ["verify", "--database-url", url, *trusting])
    result = run_witness(store, key, state)
    store.close()
    assert verified.exit_code == 0, verified.output  # the store alone still verifies
    assert result.exit_code == 1
    assert isinstance(result.exception, RollbackDetected)
    assert str(result.exception).startswith("rollback: the witness recorded tree size 12, root ")
    assert "; presented tree size 9, root " in str(result.exception)
    assert recorded_sizes(state) == [12]


def test_a_fork_with_the_same_size_and_another_root_fails(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    state = tmp_path / "witness.jsonl"
    grow(store, key, 6)
    assert run_witness(store, key, state).exit_code == 0
    other = Store.open("", data_dir=str(tmp_path / "other"), schemas=(TELEMETRY,))
    grow(other, key, 6)  # another history of the same size, signed by the same key
    result = run_witness(other, key, state)
    other.close()
    store.close()
    assert result.exit_code == 1
    assert str(result.exception).startswith("fork: the witness recorded tree size 6, root ")


def test_a_note_signed_by_an_untrusted_key_is_refused_and_not_recorded(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    intruder = Signer("telemetry-1", generate_private_key())
    state = tmp_path / "witness.jsonl"
    grow(store, intruder, 5)
    result = run_witness(store, key, state)
    store.close()
    assert result.exit_code == 1
    assert isinstance(result.exception, WitnessRefused)
    assert "carries no signature by a trusted key" in str(result.exception)
    assert not state.exists()


def test_a_note_file_with_an_altered_size_is_refused(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    grow(store, key, 5)
    url = store.engine.url.render_as_string(hide_password=False)
    note = runner.invoke(audit_app, ["checkpoint", "--database-url", url]).output
    forged = tmp_path / "forged.note"
    forged.write_text(note.replace(f"{ORIGIN}\n5\n", f"{ORIGIN}\n4\n"), encoding="utf-8")
    result = run_witness(store, key, tmp_path / "w.jsonl", "--note", str(forged))
    store.close()
    assert result.exit_code == 1
    assert "does not verify under key 'telemetry-1'" in str(result.exception)


def test_the_witness_cosigns_what_it_records(tmp_path):
    store = Store.open("", data_dir=str(tmp_path / "store"), schemas=(TELEMETRY,))
    key = Signer("telemetry-1", generate_private_key())
    witness_key = generate_private_key()
    (tmp_path / "witness.key").write_text(witness_key + "\n")
    state = tmp_path / "witness.jsonl"
    grow(store, key, 3)
    result = run_witness(
        store,
        key,
        state,
        "--cosign-key",
        str(tmp_path / "witness.key"),
        "--cosign-name",
        "w.example/1",
    )
    store.close()
    assert result.exit_code == 0, result.output
    note = SignedNote.parse(json.loads(state.read_text())["note"])
    public = Signer("w", witness_key).public_key_b64()
    assert note.verified_by(ORIGIN, key.public_key_b64()) is True
    assert note.verified_by("w.example/1", public) is True
