"""Reading a deployment's topics from the beginning up to where they ended when reading began.

For replaying from Kafka instead of the archive: no consumer group offsets are
committed (partitions are assigned, not subscribed), the end offsets are
captured once at the start so events that arrive meanwhile are not waited for,
and a message that does not decode is counted and skipped.

Some brokers (the embedded Tansu) report the first offset of a partition's last
record batch, not the offset after its last record, as the end. So a partition
that reaches its end offset is read on to the end of that batch: until a record
produced after the read began, or until nothing more arrives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from agentdeck.contracts import Codec, DecodeError, Event
from agentdeck.kafka._config import consumer_config
from agentdeck.kafka.errors import BrokerUnavailable
from agentdeck.settings import KafkaSettings

__all__ = ["TopicRead", "read_topics"]


@dataclass
class TopicRead:
    """What a read found.

    Attributes:
        events: The kept events, in the order read (per partition, offset order).
        skipped: Messages that did not decode.
        messages: Messages read in all.
        topics: The topics read.
    """

    events: list[Event] = field(default_factory=list)
    skipped: int = 0
    messages: int = 0
    topics: list[str] = field(default_factory=list)


def read_topics(
    settings: KafkaSettings,
    codec: Codec,
    keep: Callable[[Event], bool],
    *,
    timeout_s: float = 60.0,
    only: Collection[str] | None = None,
) -> TopicRead:
    """Every event of every ``<prefix>.*`` topic (or of the topics ``only`` names) ``keep`` accepts.

    Raises:
        BrokerUnavailable: The broker did not answer, or did not deliver up to
            the end offsets within ``timeout_s``.
    """
    group = f"{settings.topic_prefix}-reader-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(consumer_config(settings, "reader", group))
    try:
        started_ms = int(time.time() * 1000)
        ends = _end_offsets(consumer, settings.topic_prefix, timeout_s)
        if only is not None:
            ends = {tp: marks for tp, marks in ends.items() if tp[0] in only}
        read = TopicRead(topics=sorted({tp[0] for tp in ends}))
        pending = {tp: high for tp, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in pending])
        reached: set[tuple[str, int]] = set()
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"{len(pending)} partition(s) not read to their end within {timeout_s:.0f} s",
                    capability="kafka.fetch",
                    code="read_timeout",
                )
            messages = consumer.consume(500, 0.2)
            for message in messages:
                if message.error() is None and _within(message, pending, reached, started_ms):
                    _take(message, codec, keep, read)
            if not messages:
                _drop_finished(consumer, pending, reached)
        return read
    finally:
        consumer.close()


def _within(
    message: Message,
    pending: dict[tuple[str, int], int],
    reached: set[tuple[str, int]],
    started_ms: int,
) -> bool:
    """Whether ``message`` was in its partition when the read began (see the module doc)."""
    key = (message.topic() or "", message.partition() or 0)
    end = pending.get(key)
    if end is None:
        return False
    offset = message.offset() or 0
    if offset + 1 >= end:
        reached.add(key)
    if offset < end:
        return True
    _kind, produced_ms = message.timestamp()
    if produced_ms >= started_ms:
        del pending[key]
        reached.discard(key)
        return False
    return True


def _end_offsets(
    consumer: Consumer, prefix: str, timeout_s: float
) -> dict[tuple[str, int], tuple[int, int]]:
    """The low and high watermark of every partition of the prefix's topics."""
    try:
        topics = consumer.list_topics(timeout=timeout_s).topics
        return {
            (name, p): consumer.get_watermark_offsets(TopicPartition(name, p), timeout=timeout_s)
            for name, meta in sorted(topics.items())
            if name.startswith(f"{prefix}.")
            for p in sorted(meta.partitions)
        }
    except KafkaException as exc:
        raise BrokerUnavailable(
            f"cannot list the topics of {prefix}: {exc}",
            capability="kafka.metadata",
            code="broker_unreachable",
        ) from exc


def _drop_finished(
    consumer: Consumer, pending: dict[tuple[str, int], int], reached: set[tuple[str, int]]
) -> None:
    """Nothing arrived: partitions past their end (or whose last records were compacted) end."""
    positions = consumer.position([TopicPartition(t, p) for t, p in pending])
    for tp in positions:
        key = (tp.topic, tp.partition)
        if key in reached or tp.offset >= pending[key]:
            del pending[key]
            reached.discard(key)


def _take(message: Message, codec: Codec, keep: Callable[[Event], bool], read: TopicRead) -> None:
    read.messages += 1
    try:
        event = codec.decode(message.value() or b"")
    except DecodeError:
        read.skipped += 1
        return
    if keep(event):
        read.events.append(event)
