"""``agentdeck submit``: publish a goal, as any producer system would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from agentdeck.cli.producer import embedded_signer
from agentdeck.cli.stackfile import StackInfo
from agentdeck.contracts import Event, Producer, default_codec, envelope_for
from agentdeck.contracts.models import GoalSubmitted, RunLimits
from agentdeck.errors import ConfigError
from agentdeck.kafka import EventProducer, new_traceparent
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer

__all__ = ["goal_event", "parse_inputs", "publish", "publish_goal"]

CLI = Producer(service="cli", version="0.1.0")


def parse_inputs(pairs: list[str], raw_json: str | None) -> dict[str, object]:
    """Inputs from ``key=value`` pairs (values parsed as JSON when they are) or a JSON object."""
    inputs: dict[str, object] = {}
    if raw_json:
        try:
            loaded = json.loads(raw_json)
        except ValueError as exc:
            raise ConfigError(f"--inputs is not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("--inputs must be a JSON object")
        inputs.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--input {pair!r}: expected key=value")
        try:
            inputs[key] = json.loads(value)
        except ValueError:
            inputs[key] = value
    return inputs


def goal_event(
    *,
    goal: str,
    playbook: str | None,
    inputs: dict[str, object],
    tenant: str,
    run_id: str | None,
    requested_by: str,
    limits: RunLimits,
    data_subject: str | None = None,
) -> GoalSubmitted:
    """The GoalSubmitted event for a new run (``data_subject``: whose personal data it carries)."""
    run = run_id or f"run-{uuid.uuid4().hex[:12]}"
    envelope = envelope_for(
        GoalSubmitted,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, run)),
        tenant=tenant,
        producer=CLI,
        occurred_at=datetime.now(UTC),
        run_id=run,
        traceparent=new_traceparent(),
    )
    return GoalSubmitted(
        envelope=envelope,
        goal=goal,
        inputs_json=json.dumps(inputs),
        playbook=playbook,
        requested_by=requested_by,
        limits=limits,
        data_subject=data_subject,
    )


def publish(stack: StackInfo, event: Event, signer: Signer, *, client_id: str) -> None:
    """Publish ``event`` to its topic on the stack, signed, and wait for the acknowledgement."""
    kafka = KafkaSettings(
        bootstrap_servers=stack.bootstrap_servers, topic_prefix=stack.topic_prefix
    )
    producer = EventProducer(kafka, default_codec(), client_id=client_id, signer=signer)
    producer.send(event)
    producer.flush(15)


def publish_goal(stack: StackInfo, event: GoalSubmitted, signer: Signer | None = None) -> None:
    """Sign ``event``, publish it to the stack's goals topic and wait for the acknowledgement.

    ``signer`` defaults to the embedded stack's producer key.
    """
    publish(stack, event, signer or embedded_signer(stack.data_dir), client_id="cli-submit")
