"""Writing to a topic is not authority: forged requests, kill-switch releases and run outcomes
are dead-lettered with a reason, never acted on and never shown as facts."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from typer.testing import CliRunner

from agentdeck.cli.app import app
from agentdeck.contracts import default_codec, deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.kafka import EventProducer, Topic
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer, generate_private_key
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from testkit.kafka import read_topic

from .test_guardrails import _failure, _settle, _submit

ATTACKER = m.Producer(service="planner", version="1")

PROJECTION = RunsRepository()


def _kafka(platform) -> KafkaSettings:  # type: ignore[no-untyped-def]
    return KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )


def _letters(platform, event_id: str, groups: int, timeout_s: float = 30) -> list[m.DeadLettered]:  # type: ignore[no-untyped-def]
    """Dead letters of the forged event ``event_id``, once ``groups`` consumer groups refused it."""
    codec, deadline = default_codec(), time.monotonic() + timeout_s
    topic = Topic.DEAD_LETTERS.full(platform.info.topic_prefix)
    found: list[m.DeadLettered] = []
    while time.monotonic() < deadline:
        found = []
        for record in read_topic(_kafka(platform), topic, 1000, timeout_s=1):
            letter = codec.decode(record.value())
            if isinstance(letter, m.DeadLettered) and letter.envelope.causation_id == event_id:
                found.append(letter)
        if len({f.consumer_group for f in found}) >= groups:
            return found
    raise AssertionError(f"dead letters of {event_id} so far: {found}")


def _forged_request(run_id: str, tool: str, arguments: dict[str, object]) -> m.ToolCallRequested:
    args = canonical_json(arguments)
    return m.ToolCallRequested(
        envelope=envelope_for(
            m.ToolCallRequested,
            event_id=str(uuid.uuid4()),
            tenant="mallory-corp",
            producer=ATTACKER,
            occurred_at=datetime.now(UTC),
            run_id=run_id,
            step_id="s1",
            agent="admin-agent",
        ),
        tool=tool,
        arguments_json=args,
        arguments_hash=sha256_hex(args.encode()),
        idempotency_key=f"{run_id}:s1:1",
        side_effect=m.SideEffect.IRREVERSIBLE,
        max_cost_micros=1,
    )


def test_a_forged_tool_call_request_gets_no_decision_and_runs_nothing(platform):
    run_id = f"forged-{uuid.uuid4().hex[:8]}"
    email = {"to": "victim@example.com", "subject": "hi", "body": "pay here"}
    forged = _forged_request(run_id, "send_email", email)
    stranger = Signer("planner-1", generate_private_key())
    producer = EventProducer(_kafka(platform), default_codec(), client_id="forger", signer=stranger)
    producer.send(forged)
    producer.flush()
    letters = _letters(platform, forged.envelope.event_id, groups=2)
    assert {x.failure.code for x in letters} == {"event_signature_invalid"}
    assert any(".decide" in x.consumer_group for x in letters), "the policy-checker refused it"
    decisions = read_topic(
        _kafka(platform), Topic.DECISIONS.full(platform.info.topic_prefix), 1000, timeout_s=2
    )
    decided = [default_codec().decode(r.value()) for r in decisions]
    assert not [d for d in decided if d.envelope.run_id == run_id], "no decision was signed for it"
    with platform.stack.store.transaction(read_only=True) as conn:
        archived = platform.stack.store.archive.read_run(conn, run_id)
    # Only the refusals are on record for that run: no request, decision or result.
    assert {a.event_type for a in archived} == {m.DeadLettered.EVENT_TYPE}


def test_a_forged_kill_switch_release_does_not_lift_the_kill(platform):
    tenant = f"halted-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)

    def switch(engaged: bool, n: str) -> m.KillSwitchSet:
        return m.KillSwitchSet(
            envelope=envelope_for(
                m.KillSwitchSet,
                event_id=deterministic_id("kill", tenant, n),
                tenant="acme",
                producer=ATTACKER,
                occurred_at=now,
            ),
            scope=m.KillSwitchScope.TENANT,
            target=tenant,
            engaged=engaged,
            set_by="ops",
            reason="incident 43",
        )

    operator = Signer("operator-1", platform.keys.operator_private)
    ops = EventProducer(_kafka(platform), default_codec(), client_id="ops", signer=operator)
    ops.send(switch(True, "engage"))
    ops.flush()
    release = switch(False, "release")
    forger = EventProducer(_kafka(platform), default_codec(), client_id="forger")
    forger.send(release)
    forger.flush()
    letters = _letters(platform, release.envelope.event_id, groups=2)
    assert {x.failure.code for x in letters} == {"event_unsigned"}
    run = _submit(platform, f"still-killed-{tenant}", tenant=tenant)
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert "incident 43" in failure.message


def test_a_forged_run_outcome_is_not_shown_as_a_fact(platform, monkeypatch):
    run = _submit(
        platform,
        f"waiting-{uuid.uuid4().hex[:6]}",
        inputs_json=json.dumps({"order_id": "2077", "amount_cents": 23_000, "reason": "broken"}),
    )
    assert _settle(platform, run).status is RunStatus.WAITING_APPROVAL
    forged = m.RunCompleted(
        envelope=envelope_for(
            m.RunCompleted,
            event_id=str(uuid.uuid4()),
            tenant="acme",
            producer=ATTACKER,
            occurred_at=datetime.now(UTC),
            run_id=run,
        ),
        output_json=json.dumps({"refund_id": "rf-forged"}),
        steps=3,
        tool_calls=3,
        cost_micros=1,
    )
    forger = EventProducer(_kafka(platform), default_codec(), client_id="forger")
    forger.send(forged)
    forger.flush()
    letters = _letters(platform, forged.envelope.event_id, groups=1)
    assert {x.failure.code for x in letters} == {"event_unsigned"}
    with platform.stack.store.transaction(read_only=True) as conn:
        archived = platform.stack.store.archive.read_run(conn, run)
        record = PROJECTION.get(conn, run)
    assert m.RunCompleted.EVENT_TYPE not in {a.event_type for a in archived}
    assert record is not None
    assert record.status is RunStatus.WAITING_APPROVAL
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", platform.info.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", platform.info.topic_prefix)
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", platform.info.database_url)
    shown = CliRunner().invoke(app, ["show", run], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert "rf-forged" not in shown.output
