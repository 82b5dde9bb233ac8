"""Record headers: W3C trace context, event type and writer-schema fingerprint.

Headers let tooling route and trace a record without decoding it; the
envelope stays the source of truth.
"""

from __future__ import annotations

import re
import secrets

from confluent_kafka import Message

from agentdeck.contracts import Envelope
from agentdeck.contracts.models import DeadLettered

__all__ = [
    "DEAD_LETTER",
    "EVENT_TYPE",
    "SCHEMA_FINGERPRINT",
    "TRACEPARENT",
    "TRACESTATE",
    "child_traceparent",
    "dead_letter_headers",
    "event_headers",
    "header_value",
    "is_valid_traceparent",
    "new_traceparent",
    "record_headers",
]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
EVENT_TYPE = "agentdeck-event-type"
SCHEMA_FINGERPRINT = "agentdeck-schema-fingerprint"

_TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def new_traceparent(sampled: bool = True) -> str:
    """A traceparent that starts a new trace (random trace id and span id)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{'01' if sampled else '00'}"


def child_traceparent(parent: str | None) -> str:
    """A traceparent in the same trace as ``parent`` with a new span id; a new trace if none."""
    if parent is None or not is_valid_traceparent(parent):
        return new_traceparent()
    version, trace_id, _span, flags = parent.split("-")
    return f"{version}-{trace_id}-{secrets.token_hex(8)}-{flags}"


def is_valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a well-formed version-00 W3C traceparent."""
    return _TRACEPARENT.match(value) is not None


def header_value(headers: list[tuple[str, bytes | None]] | None, name: str) -> bytes | None:
    """The last value of header ``name``, if present."""
    found: bytes | None = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


def event_headers(envelope: Envelope, fingerprint_hex: str) -> dict[str, str]:
    """The headers of an event's record: type, writer fingerprint, trace context."""
    headers = {EVENT_TYPE: envelope.event_type, SCHEMA_FINGERPRINT: fingerprint_hex}
    if envelope.traceparent:
        headers[TRACEPARENT] = envelope.traceparent
    if envelope.tracestate:
        headers[TRACESTATE] = envelope.tracestate
    return headers


DEAD_LETTER = "agentdeck-dlq-"
"""Prefix of a dead letter's failure headers, for tools that read no Avro."""


def dead_letter_headers(letter: DeadLettered) -> dict[str, str]:
    """Why a record was dead-lettered and where it came from, as plain record headers.

    The machine-readable reason (code, category, whether a retry helps, the
    capability that refused it) and the record's origin, so generic Kafka tools
    (kcat, a console, a Connect sink) can filter dead letters without decoding
    them. The message stays in the event only: it may quote the record.
    """
    failure = letter.failure
    return {
        f"{DEAD_LETTER}code": failure.code,
        f"{DEAD_LETTER}category": str(failure.category),
        f"{DEAD_LETTER}retryable": "true" if failure.retryable else "false",
        f"{DEAD_LETTER}capability": failure.capability,
        f"{DEAD_LETTER}source": (
            f"{letter.source_topic}:{letter.source_partition}:{letter.source_offset}"
        ),
        f"{DEAD_LETTER}group": letter.consumer_group,
    }


def record_headers(message: Message) -> list[tuple[str, bytes | None]]:
    """A received record's headers as (name, bytes) pairs, in order."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in pairs]
