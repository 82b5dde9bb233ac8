"""The tool SDK: declare a typed function and its contract; the platform does the rest.

Example::

    registry = ToolRegistry()

    class OrderQuery(BaseModel):
        order_id: str

    class Order(BaseModel):
        order_id: str
        amount_cents: int

    @registry.tool(version="1", side_effect=SideEffect.READ, cost_micros=100)
    def lookup_order(args: OrderQuery, ctx: ToolContext) -> Order:
        \"\"\"Look an order up by id.\"\"\"
        ...
"""

from __future__ import annotations

from agentdeck.contracts.models import SideEffect
from agentdeck.tools._contract import (
    CompensationArgs,
    RetryPolicy,
    Tool,
    ToolCancelled,
    ToolContext,
    ToolContract,
    ToolFunction,
)
from agentdeck.tools._loading import DEMO_TOOLS, load_catalog, load_registries, load_registry
from agentdeck.tools._registry import ToolRegistry, UnknownTool
from agentdeck.tools._versions import version_compatible

__all__ = [
    "DEMO_TOOLS",
    "CompensationArgs",
    "RetryPolicy",
    "SideEffect",
    "Tool",
    "ToolCancelled",
    "ToolContext",
    "ToolContract",
    "ToolFunction",
    "ToolRegistry",
    "UnknownTool",
    "load_catalog",
    "load_registries",
    "load_registry",
    "version_compatible",
]
