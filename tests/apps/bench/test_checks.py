"""The benchmark's loss checks count what is really on the broker."""

from __future__ import annotations

from agentdeck.bench.checks import dead_letters
from agentdeck.kafka import EventProducer, Topic
from agentdeck.settings import KafkaSettings


def test_dead_letters_are_counted_by_reading_the_topic(kafka: KafkaSettings, codec) -> None:  # type: ignore[no-untyped-def]
    assert dead_letters(kafka, quiet_s=0.5) == 0
    producer = EventProducer(kafka, codec, client_id="bench-dlq-test")
    topic = Topic.DEAD_LETTERS.full(kafka.topic_prefix)
    producer.send_raw(topic, b"one", b"k", [])
    producer.flush()
    assert dead_letters(kafka, quiet_s=0.5) == 1
    for value in (b"two", b"three"):
        producer.send_raw(topic, value, b"k", [])
    producer.flush()
    assert dead_letters(kafka, quiet_s=0.5) == 3
