import asyncio
from collections.abc import Sequence

from agentdeck.contracts import Codec, Event, deterministic_id, envelope_for
from agentdeck.contracts.models import DeadLettered, KillSwitchScope, KillSwitchSet
from agentdeck.errors import RetryableError
from agentdeck.kafka import EventProducer, Topic
from agentdeck.kafka.control import control_broker, subscribe_events
from agentdeck.settings import KafkaSettings
from testkit.kafka import NOW, TEST_PRODUCER, read_topic


def _switch(target: str) -> KillSwitchSet:
    envelope = envelope_for(
        KillSwitchSet,
        event_id=deterministic_id("switch", target),
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
    )
    return KillSwitchSet(
        envelope=envelope,
        scope=KillSwitchScope.TOOL,
        target=target,
        engaged=True,
        set_by="ops",
        reason="incident",
    )


async def _consume(kafka: KafkaSettings, codec: Codec, expected: int) -> list[Event]:
    seen: list[Event] = []
    failed_once: set[str] = set()

    async def handler(event: Event) -> Sequence[Event]:
        target = getattr(event, "target", "")
        if target == "flaky" and target not in failed_once:
            failed_once.add(target)
            raise RetryableError("not yet", capability="test", code="transient")
        seen.append(event)
        return []

    broker = control_broker(kafka, client_id="control-test")
    subscribe_events(
        broker,
        kafka,
        codec,
        topic=Topic.CONTROL,
        group=f"{kafka.topic_prefix}-c",
        identity=TEST_PRODUCER,
        handler=handler,
    )
    async with broker:
        await broker.start()
        for _ in range(300):
            if len(seen) >= expected:
                break
            await asyncio.sleep(0.1)
    return seen


def test_control_events_reach_typed_handlers_and_garbage_is_dead_lettered(kafka, codec):
    producer = EventProducer(kafka, codec, client_id="ops")
    producer.send(_switch("send_email"))
    producer.send_raw(
        Topic.CONTROL.full(kafka.topic_prefix), b"garbage, not an event", b"tool:x", []
    )
    producer.send(_switch("flaky"))
    producer.flush()

    seen = asyncio.run(_consume(kafka, codec, expected=2))

    assert [getattr(e, "target", None) for e in seen] == ["send_email", "flaky"]
    assert all(isinstance(e, KillSwitchSet) for e in seen)
    [letter] = read_topic(kafka, Topic.DEAD_LETTERS.full(kafka.topic_prefix), 1)
    dead = codec.decode(letter.value())
    assert isinstance(dead, DeadLettered)
    assert (dead.failure.code, dead.original_value) == ("bad_marker", b"garbage, not an event")
