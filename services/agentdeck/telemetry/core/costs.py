"""Where the money went: cost by tenant, agent, tool and model, from the events that cost it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentdeck.contracts import Event
from agentdeck.contracts import models as m

__all__ = ["CostBreakdown", "cost_breakdown"]


@dataclass
class CostBreakdown:
    """Micro-USD spent, by dimension; tool calls and model calls each count once."""

    by_tenant: Counter[str] = field(default_factory=Counter)
    by_agent: Counter[str] = field(default_factory=Counter)
    by_tool: Counter[str] = field(default_factory=Counter)
    by_model: Counter[str] = field(default_factory=Counter)

    @property
    def total_micros(self) -> int:
        """Everything spent."""
        return sum(self.by_tenant.values())

    @property
    def tools_micros(self) -> int:
        """Spent on tool calls."""
        return sum(self.by_tool.values())

    @property
    def models_micros(self) -> int:
        """Spent on model calls."""
        return sum(self.by_model.values())


def cost_breakdown(events: Iterable[Event]) -> CostBreakdown:
    """Fold cost-bearing events (completed tool calls, recorded model calls)."""
    out = CostBreakdown()
    seen: set[str] = set()
    for event in events:
        env = event.envelope
        if env.event_id in seen:
            continue
        seen.add(env.event_id)
        if isinstance(event, m.ToolCallCompleted):
            cost, where = event.cost_micros, out.by_tool
            key = event.tool
        elif isinstance(event, m.LlmCallRecorded):
            cost, where = event.cost_micros, out.by_model
            key = event.model
        else:
            continue
        where[key] += cost
        out.by_tenant[env.tenant] += cost
        out.by_agent[env.agent or "-"] += cost
    return out
