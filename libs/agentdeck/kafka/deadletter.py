"""Turning a record that cannot be processed into a ``DeadLettered`` event."""

from __future__ import annotations

from datetime import datetime

from confluent_kafka import Message

from agentdeck.contracts import Event, Producer, deterministic_id, envelope_for
from agentdeck.contracts.models import DeadLettered, Header
from agentdeck.errors import Failure, error_info
from agentdeck.kafka.headers import record_headers

__all__ = ["dead_letter_for"]


def dead_letter_for(
    message: Message,
    error: Failure,
    *,
    group: str,
    producer: Producer,
    occurred_at: datetime,
    max_value_bytes: int,
    event: Event | None = None,
) -> DeadLettered:
    """The dead-letter event for ``message``: original bytes, position and the reason.

    Its id is derived from the record's position and the group, so a
    redelivered poison record yields the same dead letter, not a new one.
    """
    topic, partition, offset = (
        message.topic() or "",
        message.partition() or 0,
        message.offset() or 0,
    )
    key, value = message.key(), message.value() or b""
    run_id = event.envelope.run_id if event else _text(key)
    envelope = envelope_for(
        DeadLettered,
        event_id=deterministic_id("dead-letter", group, topic, str(partition), str(offset)),
        tenant=event.envelope.tenant if event else "unknown",
        producer=producer,
        occurred_at=occurred_at,
        run_id=run_id,
        correlation_id=event.envelope.correlation_id if event else None,
        causation_id=event.envelope.event_id if event else None,
    )
    return DeadLettered(
        envelope=envelope,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        consumer_group=group,
        original_key=key if isinstance(key, bytes) else None,
        original_value=value[:max_value_bytes],
        original_size=len(value),
        original_headers=_headers(message),
        failure=error_info(error),
    )


def _headers(message: Message) -> tuple[Header, ...]:
    return tuple(Header(key=k, value=v) for k, v in record_headers(message))


def _text(key: bytes | str | None) -> str | None:
    if isinstance(key, bytes):
        try:
            return key.decode()
        except UnicodeDecodeError:
            return None
    return key
