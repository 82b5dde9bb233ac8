"""``agentdeck submit``: publish a goal, as any producer system would."""

from __future__ import annotations

import json

from agentdeck.cli.producer import embedded_signer
from agentdeck.cli.stackfile import StackInfo
from agentdeck.contracts import Event, default_codec
from agentdeck.contracts.models import GoalSubmitted
from agentdeck.errors import ConfigError
from agentdeck.kafka import EventProducer
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer

__all__ = ["parse_inputs", "publish", "publish_goal"]


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
