"""The batch consumer loop every data-plane service runs.

One iteration: wait for the first record (``poll``), drain what is already
fetched (``consume(n, 0)``), decode, dead-letter what cannot be decoded, drop
events already processed, hand the rest to the handler in one call, enqueue
every output, ``flush`` once, keep the acknowledged outputs in the service's
outbox (until the archive holds them), then run the handler's ``commit`` (its
state and processed ids, one transaction), record the processed ids, and commit
the batch's offsets synchronously.

The order is what makes a crash at any instant harmless: state is committed
only after the outputs it implies are acknowledged (a crash before that
recomputes the same outputs, with the same deterministic ids, which consumers
drop as duplicates), and offsets only after the state (a crash before that
redelivers events the handler recognises as processed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from agentdeck.contracts import Codec, DecodeError, Event, Producer
from agentdeck.errors import Failure, RetryableError, TerminalError
from agentdeck.kafka._config import consumer_config
from agentdeck.kafka.authority import EventAuthority
from agentdeck.kafka.deadletter import dead_letter_for
from agentdeck.kafka.dedupe import ProcessedLog
from agentdeck.kafka.headers import EVENT_TYPE, header_value, record_headers
from agentdeck.kafka.producer import EventProducer, Outbox
from agentdeck.settings import KafkaSettings

__all__ = ["BatchHandler", "ConsumerLoop", "Inbound", "LoopStats", "Outcome", "next_offsets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """A decoded event and where it was read."""

    event: Event
    message: Message


@dataclass(frozen=True)
class Outcome:
    """What a handler decided for a batch: the events to publish, and the state to keep.

    ``commit`` runs once the events are acknowledged; it writes the handler's
    state and the processed event ids in one transaction. A handler without
    state of its own returns the events alone.
    """

    events: Sequence[Event] = ()
    commit: Callable[[], None] | None = None


class BatchHandler(Protocol):
    """Handles a batch of fresh events: returns the events they cause, or an :class:`Outcome`.

    It must not change durable state itself (that is ``Outcome.commit``'s
    job), so the loop can call it again with the same events after a
    retryable failure, or with single events to isolate one that raises.
    """

    def __call__(self, batch: Sequence[Inbound]) -> Sequence[Event] | Outcome: ...


def _outcome(result: Sequence[Event] | Outcome) -> Outcome:
    return result if isinstance(result, Outcome) else Outcome(list(result))


@dataclass
class LoopStats:
    """Counters of one loop, for metrics and tests."""

    batches: int = 0
    consumed: int = 0
    handled: int = 0
    produced: int = 0
    duplicates: int = 0
    skipped: int = 0
    retries: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)


def next_offsets(records: Sequence[Message]) -> list[TopicPartition]:
    """The offsets to commit once ``records`` are done: one past the last, per partition."""
    nxt: dict[tuple[str, int], int] = {}
    for message in records:
        key = (message.topic() or "", message.partition() or 0)
        nxt[key] = max(nxt.get(key, 0), (message.offset() or 0) + 1)
    return [TopicPartition(t, p, o) for (t, p), o in nxt.items()]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConsumerLoop:
    """Consumes ``topics`` as ``group``, handling events in batches. See the module doc."""

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        codec: Codec,
        group: str,
        topics: Sequence[str],
        handler: BatchHandler,
        producer: EventProducer,
        identity: Producer,
        processed: ProcessedLog | None = None,
        clock: Callable[[], datetime] = _utc_now,
        on_flushed: Callable[[int], None] | None = None,
        wanted: Collection[str] | None = None,
        authority: EventAuthority | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        """Subscribe; nothing is consumed before :meth:`run`.

        Args:
            wanted: Full names of the event types the handler acts on. A record
                whose type header names another type is committed undecoded; a
                record without the header is decoded as usual. None: every type.
            authority: Checks that events carrying authority are signed by a writer
                entitled to them; a refused event is dead-lettered, never handled.
                The service runtime always passes one.
            outbox: Keeps each batch's outputs once acknowledged, before the handler's
                commit (``producer`` must keep what it sends); None: nothing is kept.
        """
        self._settings = settings
        self._wanted = None if wanted is None else frozenset(t.encode() for t in wanted)
        self._codec = codec
        self.group = group
        self._handler = handler
        self._producer = producer
        self._identity = identity
        self._processed = processed
        self._clock = clock
        self._on_flushed = on_flushed
        self._authority = authority
        self._outbox = outbox
        self._backoff_s = 0.0
        self.stats = LoopStats()
        self.joined = False
        self._consumer = Consumer(consumer_config(settings, identity.service, group))
        self._consumer.subscribe(list(topics), on_assign=self._on_assign)

    def _on_assign(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        # Joined the group (a replica may legitimately hold no partition).
        self.joined = True

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set, then leave the group."""
        try:
            while not stop.is_set():
                self.run_once()
        finally:
            self.close()

    def run_once(self) -> int:
        """Process one batch; returns how many records it held (0 if none arrived)."""
        records = self._poll()
        if not records:
            return 0
        self.stats.batches += 1
        self.stats.consumed += len(records)
        try:
            self._producer.take_sent()  # what a failed batch sent is sent again below
            fresh, outputs, commits = self._process(records)
            self._producer.flush()
            if self._outbox is not None:
                self._outbox.keep(self._producer.take_sent())
            if self._on_flushed is not None:
                self._on_flushed(len(outputs))
            for commit in commits:
                commit()
        except RetryableError as exc:
            self._retry_later(records, exc)
            return len(records)
        if self._processed is not None and fresh:
            self._processed.mark(self.group, [i.event.envelope.event_id for i in fresh])
        self.stats.handled += len(fresh)
        self.stats.produced += len(outputs)
        self._backoff_s = 0.0
        self._commit(records)
        return len(records)

    def _poll(self) -> list[Message]:
        first = self._consumer.poll(self._settings.poll_timeout_s)
        if first is None:
            return []
        batch = [first, *self._consumer.consume(self._settings.batch_size - 1, 0)]
        good = []
        for message in batch:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.fatal():
                raise KafkaException(error)
            else:
                log.warning("consumer %s: %s", self.group, error)
        return good

    def _process(
        self, records: list[Message]
    ) -> tuple[list[Inbound], list[Event], list[Callable[[], None]]]:
        decoded: list[Inbound] = []
        self._codec.prepare([m.value() or b"" for m in records])
        for message in records:
            if self._wanted is not None:
                kind = header_value(record_headers(message), EVENT_TYPE)
                if kind is not None and kind not in self._wanted:
                    self.stats.skipped += 1
                    continue
            try:
                event = self._codec.decode(message.value() or b"")
            except DecodeError as exc:
                self._dead_letter(message, exc)
                continue
            refused = self._refusal(event, message)
            if refused is not None:
                self._dead_letter(message, refused, event)
                continue
            decoded.append(Inbound(event, message))
        fresh = self._fresh(decoded)
        outcomes = self._handle(fresh)
        outputs = [event for outcome in outcomes for event in outcome.events]
        self._producer.send_all(outputs)
        return fresh, outputs, [o.commit for o in outcomes if o.commit is not None]

    def _refusal(self, event: Event, message: Message) -> Failure | None:
        if self._authority is None:
            return None
        return self._authority.refusal(event, message.value() or b"", record_headers(message))

    def _fresh(self, decoded: list[Inbound]) -> list[Inbound]:
        ids = [i.event.envelope.event_id for i in decoded]
        new = set(ids) if self._processed is None else self._processed.filter_new(self.group, ids)
        fresh: list[Inbound] = []
        kept: dict[str, bytes] = {}
        for item in decoded:
            event_id = item.event.envelope.event_id
            value = item.message.value() or b""
            # Only an exact repeat is a duplicate: a different record claiming the same id
            # (a forgery, say) must still reach the handler, which can refuse it.
            if event_id not in new or kept.get(event_id) == value:
                continue
            kept.setdefault(event_id, value)
            fresh.append(item)
        self.stats.duplicates += len(decoded) - len(fresh)
        return fresh

    def _handle(self, fresh: list[Inbound]) -> list[Outcome]:
        if len(fresh) <= 1:
            return self._handle_one(fresh[0]) if fresh else []
        try:
            return [_outcome(self._handler(fresh))]
        except RetryableError:
            raise
        # Bad input never stops the loop: find the event that fails and dead-letter it alone.
        except Exception:  # noqa: BLE001
            log.warning("consumer %s: batch failed, isolating the failing event", self.group)
        for item in fresh:
            self._settle(self._handle_one(item))
        return []

    def _settle(self, outcomes: list[Outcome]) -> None:
        """Publish, flush and commit one isolated event's outcome before the next is handled.

        Each event then sees the state the events before it left, as it would have
        in a batch; slower, and only on the path where a batch failed.
        """
        events = [event for outcome in outcomes for event in outcome.events]
        self._producer.send_all(events)
        self._producer.flush()
        self.stats.produced += len(events)
        for outcome in outcomes:
            if outcome.commit is not None:
                outcome.commit()

    def _handle_one(self, item: Inbound) -> list[Outcome]:
        try:
            return [_outcome(self._handler([item]))]
        except RetryableError:
            raise
        except Failure as exc:
            self._dead_letter(item.message, exc, item.event)
        except Exception as exc:
            log.exception("consumer %s: handler raised on %s", self.group, item.event.envelope)
            failure = TerminalError(
                f"{type(exc).__name__}: {exc}",
                capability=self._identity.service + ".handler",
                code="handler_error",
                remediation=("fix the handler, then replay the dead letter",),
            )
            self._dead_letter(item.message, failure, item.event)
        return []

    def _dead_letter(self, message: Message, error: Failure, event: Event | None = None) -> None:
        self.stats.dead_lettered[error.code] += 1
        self._producer.send(
            dead_letter_for(
                message,
                error,
                group=self.group,
                producer=self._identity,
                occurred_at=self._clock(),
                max_value_bytes=self._settings.max_message_bytes,
                event=event,
            )
        )

    def _retry_later(self, records: list[Message], exc: RetryableError) -> None:
        self.stats.retries += 1
        self._backoff_s = min(max(self._backoff_s * 2, 0.05), 5.0)
        log.warning("consumer %s: %s; retrying in %.2fs", self.group, exc, self._backoff_s)
        first: dict[tuple[str, int], int] = {}
        for message in records:
            key = (message.topic() or "", message.partition() or 0)
            first[key] = min(first.get(key, message.offset() or 0), message.offset() or 0)
        for (topic, partition), offset in first.items():
            self._consumer.seek(TopicPartition(topic, partition, offset))
        time.sleep(self._backoff_s)

    def _commit(self, records: list[Message]) -> None:
        try:
            self._consumer.commit(offsets=next_offsets(records), asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                # Partitions moved in a rebalance; their next owner redelivers and dedupes.
                log.warning("consumer %s: commit failed: %s", self.group, exc)

    def close(self) -> None:
        """Leave the group (without committing anything unprocessed)."""
        self._consumer.close()
