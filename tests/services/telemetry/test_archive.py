"""Telemetry archives every event of every topic once: byte for byte, personal data sealed."""

import uuid

from pydantic import SecretStr

from agentdeck.contracts import default_codec, follow_up
from agentdeck.contracts import models as m
from agentdeck.contracts.examples import example_message
from agentdeck.hashing import sha256_hex
from agentdeck.hotstate import InProcessHotState
from agentdeck.kafka import Topic
from agentdeck.signing import generate_private_key, sign_record
from agentdeck.store import ArchivedEvent, Store
from agentdeck.telemetry.adapters.runs import RunsRepository, opened_goal
from agentdeck.telemetry.core.runs import RunStatus
from agentdeck.telemetry.main import build
from agentdeck.telemetry.settings import TelemetrySettings
from testkit.authority import OPERATOR, WriterProducer
from testkit.kafka import NOW, TEST_PRODUCER, committed_total, goal, started, wait_until
from testkit.privacy import opening


def test_every_event_is_archived_once_with_its_exact_bytes(kafka, codec, engine):
    producer = WriterProducer(kafka, codec, client_id="everyone")
    goals = [goal(n) for n in range(3)]
    producer.send_all(goals)
    producer.send_all(started(g) for g in goals)
    producer.send_all(goals)  # duplicates: archived once
    raw = example_message(codec.registry.latest("agentdeck.events.KillSwitchSet"))
    signed = sign_record(OPERATOR, raw)  # a kill switch is archived only as its operator's
    producer.send_raw(Topic.CONTROL.full(kafka.topic_prefix), raw, b"tool:x", signed)
    producer.flush()
    settings = TelemetrySettings(
        kafka=kafka,
        consumer_group=f"{kafka.topic_prefix}-telemetry",
        checkpoint_signing_key=SecretStr(generate_private_key()),
    )
    store = Store(engine)
    runner = build(settings, codec=codec, store=store, hot=InProcessHotState())
    archived: list[ArchivedEvent] = []
    with store.transaction(read_only=True) as conn:  # the database is shared: read on from here
        last = store.archive.iter_from(conn, 0, 1_000_000)
    mark = last[-1].seq if last else 0

    def seven_archived() -> bool:
        with store.transaction(read_only=True) as conn:
            archived[:] = [
                a
                for a in store.archive.iter_from(conn, mark, 10_000)
                if a.topic.startswith(kafka.topic_prefix)
            ]
        return len(archived) >= 7

    sent = {Topic.GOALS: 6, Topic.RUNS: 3, Topic.CONTROL: 1}  # records, duplicates included

    def everything_consumed() -> bool:
        group = f"{settings.consumer_group}.archive"
        return all(committed_total(kafka, group, t) == n for t, n in sent.items())

    runner.start()
    try:
        wait_until(seven_archived, what="the archive")
        # Counted once telemetry has committed every record, duplicates included: a late
        # duplicate archived after the first seven would show.
        wait_until(everything_consumed, what="telemetry to consume every record")
        seven_archived()
    finally:
        runner.stop()
    assert len(archived) == 7, "3 goals + 3 starts + 1 switch; duplicates skipped"
    by_id = {a.event_id: a for a in archived}
    sealing = opening(codec, store)
    for event in goals:
        stored = by_id[event.envelope.event_id]
        # A producer's goal arrives with its personal data in the clear: it is
        # archived sealed, and opens to exactly the goal that was sent.
        assert event.goal.encode() in codec.encode(event)
        assert event.goal.encode() not in stored.payload
        assert stored.payload == sealing.encode(event)
        assert sealing.decode(stored.payload) == event
        assert stored.run_id == event.envelope.run_id
        assert stored.topic == Topic.GOALS.full(kafka.topic_prefix)
    switch = next(a for a in archived if a.topic.endswith(".control"))
    assert switch.payload == raw
    for start in (a for a in archived if a.event_type.endswith("RunStarted")):
        assert start.payload == codec.encode(codec.decode(start.payload)), "kept byte for byte"
    assert default_codec().decode(switch.payload).envelope.event_type.endswith("KillSwitchSet")


def test_the_runs_projection_folds_each_event_once_and_keeps_the_goal_sealed(kafka, codec, engine):
    producer = WriterProducer(kafka, codec, client_id="everyone")
    asked = goal(uuid.uuid4().int % 10**12)  # a run of its own in the shared database
    start = started(asked)
    call = m.ToolCallRequested(
        envelope=follow_up(
            start, m.ToolCallRequested, producer=TEST_PRODUCER, occurred_at=NOW, step_id="s1"
        ),
        tool="lookup_order",
        arguments_json="{}",
        arguments_hash=sha256_hex("{}"),
        idempotency_key=f"{start.envelope.run_id}:s1:1",
        side_effect=m.SideEffect.READ,
    )
    producer.send_all([asked, start, call])
    producer.flush()
    settings = TelemetrySettings(
        kafka=kafka,
        consumer_group=f"{kafka.topic_prefix}-telemetry",
        checkpoint_signing_key=SecretStr(generate_private_key()),
    )
    store = Store(engine)
    runner = build(settings, codec=codec, store=store, hot=InProcessHotState())
    run_id = start.envelope.run_id or ""
    group = f"{settings.consumer_group}.archive"

    def consumed(calls: int) -> bool:
        sent = {Topic.GOALS: 1, Topic.RUNS: 1, Topic.TOOL_CALLS: calls}
        return all(committed_total(kafka, group, t) == n for t, n in sent.items())

    runner.start()
    try:
        wait_until(lambda: consumed(1), what="telemetry to consume every record")
        producer.send(call)  # delivered again, in a batch of its own: folded once
        producer.flush()
        wait_until(lambda: consumed(2), what="telemetry to consume the call again")
    finally:
        runner.stop()
    with store.transaction(read_only=True) as conn:
        run = RunsRepository().get(conn, run_id)
    assert run is not None
    assert (run.status, run.steps, run.tool_calls) == (RunStatus.RUNNING, 1, 1)
    assert run.goal_event_id == asked.envelope.event_id
    assert asked.goal not in run.goal, "kept as archived: sealed"
    cipher = opening(codec, store).cipher
    assert cipher is not None
    assert opened_goal(cipher, run) == asked.goal
