"""The control plane on faststream: typed, low-volume subscribers (kill switches, approvals).

Its per-message cost (~1-2 ms) does not matter at a few events per second,
and its features do (typed handlers, AsyncAPI docs). Its defaults do not fit
our invariants, so this module sets them: offsets are committed only after
the handler and every event it caused were acknowledged (``NACK_ON_ERROR``:
an exception redelivers), idempotent acks=all publishing, no topic
auto-creation, earliest reset, a 5 ms fetch wait, and no INFO line per message.
Undecodable records are dead-lettered exactly as in the data plane.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from faststream import AckPolicy
from faststream.confluent import KafkaBroker
from faststream.confluent.annotations import KafkaMessage

from agentdeck.contracts import Codec, DecodeError, Event, Producer
from agentdeck.errors import Failure, RetryableError
from agentdeck.kafka.deadletter import dead_letter_for
from agentdeck.kafka.headers import event_headers
from agentdeck.kafka.producer import record_key
from agentdeck.kafka.topics import Topic, topic_for
from agentdeck.settings import KafkaSettings

__all__ = ["ControlHandler", "control_broker", "publish_event", "subscribe_events"]

ControlHandler = Callable[[Event], Awaitable[Sequence[Event]]]


def control_broker(settings: KafkaSettings, *, client_id: str) -> KafkaBroker:
    """A faststream broker configured for the platform's invariants."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=f"{settings.client_id_prefix}-{client_id}",
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        linger_ms=settings.linger_ms,
        log_level=logging.DEBUG,  # its per-message lines stay out of INFO logs
    )


async def publish_event(
    broker: KafkaBroker, settings: KafkaSettings, codec: Codec, event: Event
) -> None:
    """Publish ``event`` to its routed topic, keyed and headered like the data plane."""
    fingerprint = codec.writer_of(type(event)).fingerprint_hex
    await broker.publish(
        codec.encode(event),
        topic_for(event).full(settings.topic_prefix),
        key=record_key(event),
        headers=event_headers(event.envelope, fingerprint),
    )


def subscribe_events(
    broker: KafkaBroker,
    settings: KafkaSettings,
    codec: Codec,
    *,
    topic: Topic,
    group: str,
    identity: Producer,
    handler: ControlHandler,
) -> None:
    """Register ``handler`` for the events of ``topic``; its outputs are published before ack."""

    @broker.subscriber(
        topic.full(settings.topic_prefix),
        group_id=group,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_wait_max_ms,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def _on_record(body: bytes, message: KafkaMessage) -> None:
        event: Event | None = None
        try:
            event = codec.decode(body)
            outputs = await handler(event)
        except DecodeError as exc:
            outputs = [
                _dead_letter(message, exc, group=group, identity=identity, settings=settings)
            ]
        except RetryableError:
            raise  # nack: the record is redelivered
        except Failure as exc:
            outputs = [
                _dead_letter(
                    message, exc, group=group, identity=identity, settings=settings, event=event
                )
            ]
        for output in outputs:
            await publish_event(broker, settings, codec, output)


def _dead_letter(
    message: KafkaMessage,
    error: Failure,
    *,
    group: str,
    identity: Producer,
    settings: KafkaSettings,
    event: Event | None = None,
) -> Event:
    return dead_letter_for(
        message.raw_message,  # type: ignore[arg-type]
        error,
        group=group,
        producer=identity,
        occurred_at=datetime.now(UTC),
        max_value_bytes=settings.max_message_bytes,
        event=event,
    )
