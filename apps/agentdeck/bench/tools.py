"""The benchmark's tool: ``noop``, a read that returns its argument at once.

Loaded by every service of the benchmark stack as ``agentdeck.bench.tools``.
It costs one micro-USD, so each call still reserves and settles budget: the
workload measures the platform's work around a call, not the call's.
"""

from __future__ import annotations

from pydantic import BaseModel

from agentdeck.tools import SideEffect, ToolContext, ToolRegistry

__all__ = ["registry"]

registry = ToolRegistry()


class Step(BaseModel):
    """Which step of the run calls the tool."""

    step: int


@registry.tool(
    version="1.0",
    side_effect=SideEffect.READ,
    cost_micros=1,
    max_cost_micros=1,
    timeout_s=5.0,
)
def noop(args: Step, _ctx: ToolContext) -> Step:
    """Do nothing and return the step number."""
    return args
