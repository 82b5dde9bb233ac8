"""Telemetry archives every event of every topic once: byte for byte, personal data sealed."""

from pydantic import SecretStr

from agentdeck.contracts import default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.hotstate import InProcessHotState
from agentdeck.kafka import Topic
from agentdeck.signing import generate_private_key, sign_record
from agentdeck.store import ArchivedEvent, Store
from agentdeck.telemetry.main import build
from agentdeck.telemetry.settings import TelemetrySettings
from testkit.authority import OPERATOR, WriterProducer
from testkit.kafka import committed_total, goal, started, wait_until
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

    def seven_archived() -> bool:
        with store.transaction(read_only=True) as conn:
            archived[:] = [
                a
                for a in store.archive.iter_from(conn, 0, 10_000)
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
