"""Claim check through the whole stack: a large tool output and the model request that carries
it are stored once by hash; the run completes, replays, exports and verifies; tampering fails."""

import base64
import hashlib
import json
import time
import uuid

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from agentdeck.audit import VerificationFailed
from agentdeck.claimcheck import parse_reference, references
from agentdeck.cli.app import main
from agentdeck.cli.audit import audit_app
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.replay import load_run
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts.models import LlmCallRecorded, RunLimits, ToolCallCompleted
from agentdeck.demo.tools import demo_registry
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.signing import Signer
from agentdeck.store import PayloadCorruptError
from agentdeck.store._models import PayloadRow
from agentdeck.telemetry.core.runs import RunStatus

runner = CliRunner()


def _trusting(platform) -> list[str]:  # type: ignore[no-untyped-def]
    """The stack's checkpoint key, as the operator hands it to an auditor."""
    key = Signer("telemetry-1", platform.keys.checkpoint_private)
    return ["--public-key", f"telemetry-1={key.public_key_b64()}"]


@pytest.fixture(scope="module")
def run_id(platform):
    run = f"report-{uuid.uuid4().hex[:10]}"
    goal = goal_event(
        goal="Draft the quarterly report for kim@example.com",
        playbook=None,
        inputs={},
        tenant="acme",
        run_id=run,
        requested_by="crm",
        limits=RunLimits(),
    )
    publish_goal(platform.info, goal)
    outcome = wait_for_outcomes(platform.stack.store, [run], timeout_s=90)
    assert outcome[run].status is RunStatus.COMPLETED, outcome
    return run


def _archived(platform, run):  # type: ignore[no-untyped-def]
    codec = platform.codec()
    store = platform.stack.store
    with store.transaction(read_only=True) as conn:
        return [codec.decode(e.payload) for e in store.archive.read_run(conn, run)]


def _export(platform, run, path):  # type: ignore[no-untyped-def]
    """Export once the latest checkpoint covers every archived event of the run."""
    url = platform.info.database_url
    wanted = len(_archived(platform, run))
    deadline = time.monotonic() + 60
    while True:
        done = runner.invoke(audit_app, ["export", run, "--out", str(path), "--database-url", url])
        if done.exit_code == 0 and len(json.loads(path.read_text())["events"]) == wanted:
            return json.loads(path.read_text())
        assert time.monotonic() < deadline, done.output
        time.sleep(1)


def _verified_once_checkpointed(platform) -> None:  # type: ignore[no-untyped-def]
    """``audit verify`` passes once a checkpoint covers the archive (telemetry signs one
    every few seconds); it fails until then, and for good if the archive is not intact."""
    url = platform.info.database_url
    deadline = time.monotonic() + 60
    while True:
        done = runner.invoke(audit_app, ["verify", "--database-url", url, *_trusting(platform)])
        if done.exit_code == 0:
            return
        assert time.monotonic() < deadline, done.output
        time.sleep(1)


def test_the_large_output_and_model_request_travel_by_reference(platform, run_id):
    events = _archived(platform, run_id)
    [completed] = [e for e in events if isinstance(e, ToolCallCompleted)]
    ref = parse_reference(completed.output_json)
    assert ref is not None, completed.output_json[:200]
    assert ref.size > 16_384
    # The payload rests sealed under the run's subject key: its reference names the
    # sealed bytes, and what they open to is the output the event's hash names.
    with platform.stack.store.transaction(read_only=True) as conn:
        stored = platform.stack.store.payloads.get(conn, ref)
    assert hashlib.sha256(stored).hexdigest() == ref.digest != completed.output_hash
    [opened] = [
        e
        for e in load_run(platform.stack.store, run_id, platform.codec())
        if isinstance(e, ToolCallCompleted)
    ]
    assert hashlib.sha256(opened.output_json.encode()).hexdigest() == completed.output_hash
    asked = [e for e in events if isinstance(e, LlmCallRecorded)]
    assert len(asked) == 2
    assert parse_reference(asked[0].request_json) is None  # the first request is small
    assert parse_reference(asked[0].response_json) is not None  # it asks for a long draft
    assert parse_reference(asked[1].request_json) is not None  # it carries the draft


def test_replay_follows_the_references_and_reproduces_the_run(platform, run_id):
    events = load_run(platform.stack.store, run_id, platform.codec())
    assert not any(references(e) for e in events)
    [completed] = [e for e in events if isinstance(e, ToolCallCompleted)]
    assert json.loads(completed.output_json)["subject"] == "The quarterly report"
    result = replay_run(events, playbooks=bundled_playbooks(), tools=tool_infos(demo_registry()))
    assert result.divergence is None, result.divergence and result.divergence.describe()
    assert result.decisions >= 3


def test_the_replay_command_follows_references_from_the_archive_and_from_kafka(
    platform, run_id, monkeypatch, capsys
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", platform.info.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", platform.info.topic_prefix)
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", platform.info.database_url)
    monkeypatch.setenv("AGENTDECK_DATA_DIR", platform.info.data_dir)
    assert main(["replay", run_id, "--verify"]) == 0
    from_archive = capsys.readouterr().out
    assert "planner decisions reproduce the recorded run" in from_archive
    assert main(["replay", run_id, "--from-kafka", "--verify"]) == 0
    from_kafka = capsys.readouterr().out
    assert from_kafka.split("\n", 1)[1] == from_archive  # after the line saying what was read


def test_the_bundle_carries_the_payloads_and_verifies_then_fails_when_one_is_altered(
    platform, run_id, tmp_path
):
    path = tmp_path / "bundle.json"
    bundle = _export(platform, run_id, path)
    # The model's answer holding the draft's arguments, the draft, the request carrying it.
    assert len(bundle["payloads"]) == 3
    checked = runner.invoke(audit_app, ["verify-bundle", str(path), *_trusting(platform)])
    assert checked.exit_code == 0, checked.output
    assert "3 payload(s)" in checked.output
    assert f"complete: run {run_id} as of tree size" in checked.output
    assert "(RunCompleted)" in checked.output

    victim = bundle["payloads"][0]
    data = bytearray(base64.b64decode(victim["data_b64"]))
    data[100] ^= 0x01
    victim["data_b64"] = base64.b64encode(data).decode()
    path.write_text(json.dumps(bundle))
    tampered = runner.invoke(audit_app, ["verify-bundle", str(path), *_trusting(platform)])
    assert tampered.exit_code == 1
    assert isinstance(tampered.exception, VerificationFailed)
    assert f"payload {victim['claim']} referenced by event" in tampered.output
    assert "was altered" in tampered.output


def test_a_stored_payload_altered_by_one_byte_fails_audit_verify_and_replay(platform, run_id):
    store = platform.stack.store
    url = platform.info.database_url
    _verified_once_checkpointed(platform)
    [completed] = [e for e in _archived(platform, run_id) if isinstance(e, ToolCallCompleted)]
    ref = parse_reference(completed.output_json)
    assert ref is not None
    with store.transaction() as conn:
        original = store.payloads.get(conn, ref)
        altered = original[:-1] + bytes([original[-1] ^ 1])  # one bit of the sealed payload
        conn.execute(update(PayloadRow).where(PayloadRow.digest == ref.digest).values(data=altered))
    try:
        after = runner.invoke(audit_app, ["verify", "--database-url", url, *_trusting(platform)])
        assert after.exit_code == 1
        assert f"payload {ref.claim} referenced by event {completed.envelope.event_id}" in (
            after.output
        )
        assert "was altered" in after.output
        with pytest.raises(PayloadCorruptError, match=f"payload {ref.claim} was altered"):
            load_run(store, run_id)
    finally:
        with store.transaction() as conn:
            stmt = update(PayloadRow).where(PayloadRow.digest == ref.digest)
            conn.execute(stmt.values(data=original))
