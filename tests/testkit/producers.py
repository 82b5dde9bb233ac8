"""A registered test producer: its key signs goals, its registry grants what tests need."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Message

from agentdeck.contracts import Event, default_codec
from agentdeck.kafka import Inbound
from agentdeck.planner.adapters.producers import ProducerRegistry, RegisteredProducer
from agentdeck.signing import Signer, generate_private_key, sign_record

PRODUCER_ID = "test-crm"
SIGNER = Signer("test-crm-1", generate_private_key())
"""The test producer's current key."""


def registry(*, signers: tuple[Signer, ...] = (SIGNER,), **grant: Any) -> ProducerRegistry:
    """A registry of the test producer alone; ``grant`` overrides its default grant.

    By default it may start any playbook for tenant ``acme``, as any agent,
    and have the model plan.
    """
    fields: dict[str, Any] = {
        "tenants": ("acme",),
        "agents": ("*",),
        "playbooks": ("*",),
        "model_planned": True,
        **grant,
    }
    keys = {s.key_id: s.public_key_b64() for s in signers}
    return ProducerRegistry(
        version=1, producers={PRODUCER_ID: RegisteredProducer(keys=keys, **fields)}
    )


def signed_inbound(event: Event, signer: Signer = SIGNER) -> Inbound:
    """``event`` as a consumer loop hands it over: encoded, in a record signed by ``signer``."""
    value = default_codec().encode(event)
    return Inbound(event, Message(value=value, headers=sign_record(signer, value)))
