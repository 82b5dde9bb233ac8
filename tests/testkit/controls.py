"""Kill-switch events as an operator would set them."""

from __future__ import annotations

import uuid
from datetime import datetime

from agentdeck.contracts import envelope_for
from agentdeck.contracts import models as m
from testkit.kafka import NOW, TEST_PRODUCER


def kill_switch(
    scope: m.KillSwitchScope, target: str, *, engaged: bool = True, at: datetime = NOW
) -> m.KillSwitchSet:
    """An operator's KillSwitchSet."""
    return m.KillSwitchSet(
        envelope=envelope_for(
            m.KillSwitchSet,
            event_id=str(uuid.uuid4()),
            tenant="ops",
            producer=TEST_PRODUCER,
            occurred_at=at,
        ),
        scope=scope,
        target=target,
        engaged=engaged,
        set_by="oncall",
        reason="incident 42",
    )
