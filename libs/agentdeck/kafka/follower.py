"""Reading a topic from its beginning and then following it, outside any consumer group.

For state every process needs whole (the kill switches of the compacted
control topic): each process assigns itself every partition from the first
offset, so it sees every record the topic still holds, not just those after
it joined, and never shares partitions with another replica. Nothing is
committed. The end offsets are taken once at the start; the follower reports
``caught_up`` once its position reached them and a fetch came back empty (the
second condition covers brokers that report the start of the last record
batch as the end, as the embedded Tansu does). Records whose type is not
wanted are skipped undecoded; records the authority refuses are logged and
counted, never handed on (their dead letter is the consumer groups' job).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from agentdeck.contracts import Codec, DecodeError, Event
from agentdeck.kafka._config import consumer_config
from agentdeck.kafka.authority import EventAuthority
from agentdeck.kafka.headers import EVENT_TYPE, header_value, record_headers
from agentdeck.settings import KafkaSettings

__all__ = ["FollowerStats", "TopicFollower"]

log = logging.getLogger(__name__)


@dataclass
class FollowerStats:
    """Counters of one follower."""

    read: int = 0
    handed: int = 0
    refused: int = 0
    undecodable: int = 0
    restarts: int = 0


class TopicFollower:
    """Hands every authorised event of ``topic`` of the wanted types to ``sink``, in order."""

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        codec: Codec,
        topic: str,
        wanted: Collection[type[Event]],
        authority: EventAuthority,
        sink: Callable[[Sequence[Event]], object],
        caught_up: Callable[[], None],
        client_id: str,
        poll_s: float = 0.5,
    ) -> None:
        self._settings = settings
        self._codec = codec
        self._topic = topic
        self._wanted = {codec.writer_of(t).full_name.encode() for t in wanted}
        self._types = tuple(wanted)
        self._authority = authority
        self._sink = sink
        self._caught_up = caught_up
        self._client_id = client_id
        self._poll_s = poll_s
        self.stats = FollowerStats()

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop`` is set; a broken consumer is rebuilt and reads from the start."""
        backoff = 0.5
        while not stop.is_set():
            try:
                self._follow(stop)
            except Exception:  # the view must outlive a broken consumer
                self.stats.restarts += 1
                log.exception("follower of %s crashed; again in %.1fs", self._topic, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _follow(self, stop: threading.Event) -> None:
        group = f"{self._client_id}-{uuid.uuid4().hex[:12]}"  # required by the client, never joined
        consumer = Consumer(consumer_config(self._settings, self._client_id, group))
        try:
            ends = self._ends(consumer)
            consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in ends])
            pending = {p: high for p, (low, high) in ends.items() if high > low}
            if not pending:
                self._caught_up()
            while not stop.is_set():
                messages = self._poll(consumer)
                self._take(messages)
                if pending and not messages:
                    self._check_caught_up(consumer, pending)
        finally:
            consumer.close()

    def _poll(self, consumer: Consumer) -> list[Message]:
        # consume(n, timeout) would wait the whole timeout unless n records were waiting.
        first = consumer.poll(self._poll_s)
        if first is None:
            return []
        return [first, *consumer.consume(self._settings.batch_size - 1, 0)]

    def _ends(self, consumer: Consumer) -> dict[int, tuple[int, int]]:
        """The low and high watermark of every partition (raises if the topic is missing)."""
        meta = consumer.list_topics(self._topic, timeout=10).topics.get(self._topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise RuntimeError(f"topic {self._topic} not found")
        return {
            p: consumer.get_watermark_offsets(TopicPartition(self._topic, p), timeout=10)
            for p in sorted(meta.partitions)
        }

    def _check_caught_up(self, consumer: Consumer, pending: dict[int, int]) -> None:
        for tp in consumer.position([TopicPartition(self._topic, p) for p in pending]):
            if tp.offset >= pending[tp.partition]:
                del pending[tp.partition]
        if not pending:
            self._caught_up()

    def _take(self, messages: list[Message]) -> None:
        events: list[Event] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("follower of %s: %s", self._topic, error)
                continue
            self.stats.read += 1
            event = self._event(message)
            if event is not None:
                events.append(event)
        if events:
            self._sink(events)
            self.stats.handed += len(events)

    def _event(self, message: Message) -> Event | None:
        headers = record_headers(message)
        kind = header_value(headers, EVENT_TYPE)
        if kind is not None and kind not in self._wanted:
            return None
        value = message.value() or b""
        try:
            event = self._codec.decode(value)
        except DecodeError as exc:
            self.stats.undecodable += 1
            log.warning("follower of %s: undecodable record: %s", self._topic, exc)
            return None
        if not isinstance(event, self._types):
            return None
        refused = self._authority.refusal(event, value, headers)
        if refused is not None:
            self.stats.refused += 1
            kind_name = type(event).__name__
            log.warning("follower of %s: refused %s: %s", self._topic, kind_name, refused)
            return None
        return event
