"""The goal the embedded stack's producer publishes for a new run."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from agentdeck.contracts import Producer, envelope_for
from agentdeck.contracts.models import GoalSubmitted, RunLimits
from agentdeck.kafka import new_traceparent

__all__ = ["CLI", "goal_event"]

CLI = Producer(service="cli", version="0.1.0")


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
