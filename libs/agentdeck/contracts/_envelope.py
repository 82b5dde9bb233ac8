"""Building envelopes: deterministic ids, causation and correlation."""

from __future__ import annotations

import uuid
from datetime import datetime
from hashlib import sha1

from agentdeck.contracts.models import Envelope, Event, Producer

__all__ = ["NAMESPACE", "deterministic_id", "envelope_for", "follow_up"]

#: Namespace of every deterministic id the platform derives.
NAMESPACE = uuid.UUID("6f1c1c9e-4a52-5b7d-9a0e-2f6d3c1b8a40")

_NAMESPACE_BYTES = NAMESPACE.bytes
# The variant bits (10xx) over the digest's 17th hex digit.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def deterministic_id(*parts: str) -> str:
    """uuid5 of the parts: the same cause always yields the same event id."""
    # uuid.uuid5 as text, without a UUID object: replay derives an id for every output.
    h = sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def envelope_for(
    event_type: type[Event],
    *,
    event_id: str,
    tenant: str,
    producer: Producer,
    occurred_at: datetime,
    run_id: str | None = None,
    correlation_id: str | None = None,
    **optional: str | None,
) -> Envelope:
    """A new envelope for an event of ``event_type``.

    ``optional`` takes ``step_id``, ``causation_id``, ``agent``, ``traceparent``
    and ``tracestate``. The correlation id defaults to the event's own id.
    """
    return Envelope(
        event_id=event_id,
        event_type=event_type.EVENT_TYPE,
        schema_version=event_type.SCHEMA_VERSION,
        run_id=run_id,
        correlation_id=correlation_id or event_id,
        tenant=tenant,
        producer=producer,
        occurred_at=occurred_at,
        **optional,
    )


def follow_up(
    cause: Event,
    event_type: type[Event],
    *,
    producer: Producer,
    occurred_at: datetime,
    step_id: str | None = None,
    discriminator: str = "",
) -> Envelope:
    """The envelope of an event caused by ``cause``: same run, tenant, agent and trace.

    Its id is derived from the cause's id, the new type, the step and
    ``discriminator``, so reprocessing the cause reproduces the same id.
    """
    env = cause.envelope
    step = step_id if step_id is not None else env.step_id
    return envelope_for(
        event_type,
        event_id=deterministic_id(env.event_id, event_type.EVENT_TYPE, step or "", discriminator),
        tenant=env.tenant,
        producer=producer,
        occurred_at=occurred_at,
        run_id=env.run_id,
        correlation_id=env.correlation_id,
        step_id=step,
        causation_id=env.event_id,
        agent=env.agent,
        traceparent=env.traceparent,
        tracestate=env.tracestate,
    )
