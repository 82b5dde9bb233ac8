"""Shadow mode: a candidate bundle decides beside the active one; only divergence is kept."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentdeck.contracts.models import ToolCallRequested
from agentdeck.hotstate import HotState
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.counters import ShadowCounter

__all__ = ["Shadow"]

log = logging.getLogger(__name__)


class Shadow:
    """Evaluates a candidate bundle on the same facts, counts and logs where it disagrees."""

    def __init__(self, engine: core.PolicyEngine, hot: HotState) -> None:
        self.engine = engine
        self.counter = ShadowCounter(hot, engine.bundle.digest)

    def compare(
        self,
        requests: Sequence[ToolCallRequested],
        facts: Sequence[core.CallFacts],
        active: Sequence[core.Verdict],
    ) -> None:
        """Count the batch and log every divergent outcome; nothing is enforced."""
        candidate = core.guarded_verdicts(self.engine, facts)
        diverging = core.divergent(active, candidate)
        self.counter.add(len(facts), len(diverging))
        for i in diverging:
            log.info(
                "shadow bundle %s diverges on request %s (%s): active %s %s, candidate %s %s",
                self.engine.bundle.version,
                requests[i].envelope.event_id,
                requests[i].tool,
                active[i].outcome.value,
                list(active[i].matched),
                candidate[i].outcome.value,
                list(candidate[i].matched),
            )
