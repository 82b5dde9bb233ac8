"""The facts a decision depends on, gathered by the service and handed to the policies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentdeck.contracts.models import SideEffect, ToolCallRequested
from agentdeck.controls import Switch
from agentdeck.hashing import canonical_json, sha256_hex

__all__ = [
    "NO_BUDGET",
    "Arguments",
    "BudgetView",
    "CallFacts",
    "ToolFacts",
    "parse_arguments",
]


@dataclass(frozen=True)
class ToolFacts:
    """What the tool contract says about a tool (``registered=False``: no contract)."""

    name: str
    registered: bool
    version: str = ""
    side_effect: SideEffect = SideEffect.READ
    cost_micros: int = 0
    max_cost_micros: int = 0
    rate_limit_per_minute: int = 0
    scopes: tuple[str, ...] = ()
    sandboxed: bool = False


@dataclass(frozen=True)
class BudgetView:
    """A tenant budget as read before the decision (micro-USD)."""

    exists: bool
    limit_micros: int
    remaining_micros: int


NO_BUDGET = BudgetView(exists=False, limit_micros=0, remaining_micros=0)


@dataclass(frozen=True)
class Arguments:
    """A request's arguments, parsed, with any integrity problem found on the way."""

    values: Mapping[str, Any]
    canonical_json: str
    problem: str | None = None


def parse_arguments(request: ToolCallRequested) -> Arguments:
    """Parse the arguments and check them against the request's ``arguments_hash``."""
    try:
        values = json.loads(request.arguments_json)
    except ValueError as exc:
        return Arguments({}, request.arguments_json, f"arguments are not JSON ({exc})")
    if not isinstance(values, dict):
        return Arguments({}, request.arguments_json, "arguments are not a JSON object")
    try:
        canonical = canonical_json(values)
    except ValueError as exc:
        return Arguments({}, request.arguments_json, f"arguments are not canonical JSON ({exc})")
    if sha256_hex(canonical) != request.arguments_hash:
        return Arguments(values, canonical, "arguments do not match the request's arguments_hash")
    return Arguments(values, canonical)


@dataclass(frozen=True)
class CallFacts:
    """Everything the policies see about one request.

    Attributes:
        tool: The tool's contract facts.
        tenant: Tenant of the run.
        agent: Agent that asks (None if the run names none).
        args: The parsed arguments.
        args_problem: Why the arguments cannot be trusted or do not fit the
            contract (hash mismatch, not JSON, contract validation), if so.
        requested_version: The contract version the planner asked for, if any.
        attempt: Attempt number of the call.
        max_cost_micros: What the call would reserve: the larger of the
            request's and the contract's maximum.
        budget: The tenant's budget before this call.
        run_spent_micros: What the run has spent so far: its settled calls and its
            model calls charged.
        calls_last_minute: The tenant's calls of this tool in the current
            minute, this one included.
        switch: The engaged kill switch covering the call, if any.
    """

    tool: ToolFacts
    tenant: str
    agent: str | None
    args: Mapping[str, Any] = field(default_factory=dict)
    args_problem: str | None = None
    requested_version: str | None = None
    attempt: int = 1
    max_cost_micros: int = 0
    budget: BudgetView = NO_BUDGET
    run_spent_micros: int = 0
    calls_last_minute: int = 1
    switch: Switch | None = None
