"""Publishing events: encode, key by run, header, and wait for acknowledgement in batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from confluent_kafka import KafkaError, Message, Producer

from agentdeck.contracts import Codec, Event
from agentdeck.contracts import models as m
from agentdeck.contracts.models import DeadLettered
from agentdeck.kafka import headers as h
from agentdeck.kafka._config import producer_config
from agentdeck.kafka.authority import SIGNED
from agentdeck.kafka.errors import DeliveryFailed
from agentdeck.kafka.topics import topic_for
from agentdeck.settings import KafkaSettings
from agentdeck.signing import SigningKey, sign_record

__all__ = ["EventProducer", "Outbox", "Published", "record_key"]

Headers: TypeAlias = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class Published:
    """An event's record as it was produced: enough to produce the very same record again."""

    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...]


class Outbox(Protocol):
    """Keeps acknowledged records until the archive holds them (see ``agentdeck.runtime``)."""

    def keep(self, records: Sequence[Published]) -> None:
        """Keep ``records``, all acknowledged by the broker; raises if they could not be kept."""
        ...


def record_key(event: Event) -> bytes | None:
    """The record key: the run id, so all of a run's events keep their order.

    Events of no run (control) are keyed by their own type so a compacted
    topic keeps the latest of each; a kill switch is keyed by scope and target,
    a pause by ``admission:`` and its scope and target (both name the same
    tenants and agents, and neither may compact the other away).
    """
    env = event.envelope
    if env.run_id is not None:
        return env.run_id.encode()
    target = getattr(event, "target", None)
    scope = getattr(event, "scope", None)
    if target is not None and scope is not None:
        return f"{_KEY_PREFIX.get(type(event), '')}{scope}:{target}".encode()
    return env.event_type.encode()


_KEY_PREFIX: dict[type[Event], str] = {m.AdmissionSet: "admission:"}


class EventProducer:
    """An idempotent, acks=all producer of events.

    :meth:`send` only enqueues; :meth:`flush` waits until every enqueued
    event is acknowledged and raises :class:`DeliveryFailed` otherwise. The
    consumer loop calls :meth:`flush` once per batch before committing.
    With a ``signer``, the record of every event that carries authority
    (:data:`~agentdeck.kafka.authority.SIGNED`) carries its signature: key id
    and Ed25519 signature of the value, as headers. Other events are not
    signed; no consumer would check them.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        codec: Codec,
        *,
        client_id: str,
        signer: SigningKey | None = None,
        keep_sent: bool = False,
    ) -> None:
        """Args:
        keep_sent: Remember every event's record until :meth:`take_sent` (for an outbox).
        """
        self._sent: list[Published] | None = [] if keep_sent else None
        self._settings = settings
        self._codec = codec
        self._client_id = client_id
        self._signer = signer
        self._producer = Producer(producer_config(settings, client_id))
        self._errors: list[KafkaError] = []
        self.produced = 0

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._errors.append(error)

    def send(self, event: Event, *, topic: str | None = None) -> None:
        """Enqueue ``event`` on its routed topic (or ``topic``), keyed by run id."""
        name = topic or topic_for(event).full(self._settings.topic_prefix)
        fingerprint = self._codec.writer_of(type(event)).fingerprint_hex
        headers: Headers = list(h.event_headers(event.envelope, fingerprint).items())
        if isinstance(event, DeadLettered):
            headers += h.dead_letter_headers(event).items()
        value = self._codec.encode(event)
        if self._signer is not None and type(event) in SIGNED:
            headers += sign_record(self._signer, value)
        key = record_key(event)
        self._produce(name, value, key, headers)
        if self._sent is not None:
            kept = tuple((k, v.encode() if isinstance(v, str) else v) for k, v in headers)
            self._sent.append(Published(event.envelope.event_id, name, key, value, kept))

    def take_sent(self) -> list[Published]:
        """The records of the events sent since the last call (none unless ``keep_sent``)."""
        if self._sent is None:
            return []
        sent, self._sent = self._sent, []
        return sent

    def send_raw(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        """Enqueue bytes as they are (dead letters keep the original record)."""
        self._produce(topic, value, key, headers)

    def _produce(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value, key, headers=headers, on_delivery=self._on_delivery
                )
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let deliveries drain
            else:
                self.produced += 1
                return

    def send_all(self, events: Iterable[Event]) -> None:
        """Enqueue several events (what sealing them needs is read once for all of them)."""
        batch = list(events)
        if len(batch) > 1:
            self._codec.prepare_events(batch)
        for event in batch:
            self.send(event)

    @property
    def in_flight(self) -> int:
        """Events enqueued and not yet acknowledged by the broker (or failed)."""
        return len(self._producer)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every enqueued event to be acknowledged, or raise DeliveryFailed."""
        remaining = self._producer.flush(timeout_s)
        errors, self._errors = self._errors, []
        if remaining or errors:
            fatal = any(e.fatal() for e in errors)
            if fatal:
                self._recreate()
            raise DeliveryFailed(
                f"{remaining} events unacknowledged, {len(errors)} failed: "
                f"{', '.join(sorted({e.name() for e in errors}))}",
                capability="kafka.produce",
                code="delivery_failed",
                remediation=("retry the batch; event ids are deterministic, so consumers dedupe",),
            )

    def _recreate(self) -> None:
        """Replace a producer whose idempotence state is fatally broken (e.g. broker restart)."""
        self._producer.purge()
        self._producer = Producer(producer_config(self._settings, self._client_id))

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is pending, then drop the client."""
        self._producer.flush(timeout_s)
