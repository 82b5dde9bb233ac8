"""Test helpers for Kafka: read a topic without joining a group, build events, run loops."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from agentdeck.contracts import Codec, Event, Producer, deterministic_id, envelope_for, follow_up
from agentdeck.contracts.models import GoalSubmitted, PlannerKind, RunLimits, RunStarted
from agentdeck.kafka import (
    BatchHandler,
    ConsumerLoop,
    EventProducer,
    Inbound,
    ProcessedLog,
    Topic,
)
from agentdeck.settings import KafkaSettings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TEST_PRODUCER = Producer(service="test", version="1")


def goal(n: int, *, tenant: str = "acme") -> GoalSubmitted:
    """A goal of run ``run-<n>``."""
    envelope = envelope_for(
        GoalSubmitted,
        event_id=deterministic_id("goal", str(n)),
        tenant=tenant,
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=f"run-{n}",
    )
    return GoalSubmitted(
        envelope=envelope, goal=f"goal {n}", requested_by="crm", limits=RunLimits()
    )


def read_topic(
    settings: KafkaSettings, topic: str, count: int, timeout_s: float = 20.0
) -> list[Message]:
    """The first ``count`` records of ``topic`` (all partitions), by assignment, no group."""
    partitions = (
        AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        .list_topics(topic, timeout=10)
        .topics[topic]
        .partitions
    )
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": "reader",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < count and time.monotonic() < deadline:
            found.extend(m for m in consumer.consume(500, 0.2) if m.error() is None)
    finally:
        consumer.close()
    return found


def run_until(loop: ConsumerLoop, done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Drive ``loop`` in this thread until ``done()`` or the timeout (then fail)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"loop {loop.group} did not finish: {loop.stats}")
        loop.run_once()


@contextmanager
def running(loop: ConsumerLoop) -> Iterator[threading.Event]:
    """Run ``loop`` in a thread for the duration of the block."""
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(15)


def started(cause: GoalSubmitted) -> RunStarted:
    """The RunStarted a goal causes, with a deterministic id."""
    return RunStarted(
        envelope=follow_up(cause, RunStarted, producer=TEST_PRODUCER, occurred_at=NOW),
        planner=PlannerKind.PLAYBOOK,
        pinned_version="v1",
        limits=RunLimits(),
    )


def started_for(batch: Sequence[Inbound]) -> list[Event]:
    """A handler: every goal causes a RunStarted with a deterministic id."""
    return [started(item.event) for item in batch if isinstance(item.event, GoalSubmitted)]


def wait_until(done: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll ``done`` every 50 ms until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def make_loop(
    settings: KafkaSettings,
    codec: Codec,
    handler: BatchHandler,
    *,
    topic: Topic = Topic.GOALS,
    group: str = "relay",
    processed: ProcessedLog | None = None,
    producer: EventProducer | None = None,
    **kwargs: Any,
) -> ConsumerLoop:
    """A loop over one of the test's topics with its own producer (or ``producer``)."""
    return ConsumerLoop(
        settings=settings,
        codec=codec,
        group=f"{settings.topic_prefix}-{group}",
        topics=[topic.full(settings.topic_prefix)],
        handler=handler,
        producer=producer or EventProducer(settings, codec, client_id=group),
        identity=TEST_PRODUCER,
        processed=processed,
        **kwargs,
    )


def backlog(
    settings: KafkaSettings, group: str, topic: Topic, *, waiting: bool = True
) -> tuple[int, int]:
    """(records ``group`` committed, records of ``topic`` after them), all partitions.

    With ``waiting=False`` only the first is counted (the second is 0).

    The records after the committed offsets are counted by reading them, not from
    the high watermarks, which the embedded broker does not always report right
    (two batches of one producer in a partition reported as one record).
    """
    name = topic.full(settings.topic_prefix)
    partitions = (
        AdminClient({"bootstrap.servers": settings.bootstrap_servers})
        .list_topics(name, timeout=10)
        .topics[name]
        .partitions
    )
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(name, p) for p in partitions], timeout=10)
    finally:
        consumer.close()
    done = sum(max(tp.offset, 0) for tp in committed)
    if not waiting:
        return done, 0
    reader = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"{group}-backlog",
            "enable.auto.commit": False,
        }
    )
    try:  # read on from the committed offsets until nothing more comes for half a second
        reader.assign([TopicPartition(name, tp.partition, max(tp.offset, 0)) for tp in committed])
        after, quiet_since = 0, time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            message = reader.poll(0.1)
            if message is not None and message.error() is None:
                after, quiet_since = after + 1, time.monotonic()
    finally:
        reader.close()
    return done, after


def committed_total(settings: KafkaSettings, group: str, topic: Topic) -> int:
    """Sum of the committed offsets of ``group`` over every partition of ``topic``."""
    return backlog(settings, group, topic, waiting=False)[0]
