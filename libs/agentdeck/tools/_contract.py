"""Tool contracts: what a tool takes, returns, may do to the world, costs and needs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from agentdeck.contracts.models import SideEffect
from agentdeck.errors import ConfigError

__all__ = [
    "CompensationArgs",
    "RetryPolicy",
    "Tool",
    "ToolCancelled",
    "ToolContext",
    "ToolContract",
    "ToolFunction",
]

CompensationArgs = Callable[[Any, Any], BaseModel]
"""(the call's arguments, its result) -> the arguments of the tool that undoes it.

Pure and deterministic: the planner derives a rollback's calls with it, and
replay derives them again.
"""


@dataclass(frozen=True)
class RetryPolicy:
    """How the executor retries a call that failed with a retryable error."""

    max_attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0


@dataclass(frozen=True)
class ToolContract:
    """Everything the platform must know about a tool before it may run.

    Attributes:
        name: Unique tool name, as plans and policies refer to it.
        version: Contract version; a run is pinned to the version it planned with.
        description: What the tool does, for planners (LLM tool schema) and approvers.
        input_model: Pydantic model of the arguments.
        output_model: Pydantic model of the result.
        side_effect: READ, WRITE (compensable) or IRREVERSIBLE.
        idempotent: Whether repeating a call with the same key is harmless.
        compensation: Name of the tool that undoes a WRITE, if any; it must be idempotent
            (two rollbacks may ask for the same undo, each under its own key).
        compensation_args: How a completed call's arguments and result become
            the compensating tool's arguments; required with ``compensation``.
        timeout_s: Most a call may take.
        retry: Retry policy for retryable failures.
        rate_limit_per_minute: Calls allowed per tenant and minute; None for no limit.
        cost_micros: Typical cost of a call, in micro-USD.
        max_cost_micros: Most a call may cost; reserved from the budget before it runs.
        scopes: Permissions the calling agent must hold.
        max_concurrency: Calls of this tool in flight at once per executor.
        sandboxed: Runs in a resource-limited subprocess without network.
        credential_audience: The backend the tool calls, if it needs a per-call
            credential for it (see :mod:`agentdeck.credentials`); None for none.
    """

    name: str
    version: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    side_effect: SideEffect = SideEffect.READ
    idempotent: bool = True
    compensation: str | None = None
    compensation_args: CompensationArgs | None = None
    timeout_s: float = 10.0
    retry: RetryPolicy = RetryPolicy()
    rate_limit_per_minute: int | None = None
    cost_micros: int = 0
    max_cost_micros: int = 0
    scopes: tuple[str, ...] = ()
    max_concurrency: int = 8
    sandboxed: bool = False
    credential_audience: str | None = None

    def __post_init__(self) -> None:
        if (self.compensation is None) != (self.compensation_args is None):
            raise ConfigError(
                f"tool {self.name}: compensation and compensation_args go together"
                " (the tool that undoes a call, and how the call gives its arguments)"
            )

    def json_schema(self) -> dict[str, Any]:
        """The arguments' JSON schema, as LLM tool calling wants it."""
        return self.input_model.model_json_schema()


@dataclass(frozen=True)
class ToolContext:
    """What a tool function knows about the call it serves.

    ``credential`` is the call's short-lived credential for the backend named by
    the contract's ``credential_audience`` (None if it names none): the tool
    passes it to that backend and nowhere else. Kept out of ``repr`` so a logged
    context never shows it.

    ``cancelled`` is set when the call is stopped while it runs (its run was
    cancelled or a kill switch covering it engaged). A tool that works for long
    checks it between pieces of work, or waits on it instead of sleeping, and
    stops by raising (any exception; :class:`ToolCancelled` says why): the
    call is then recorded as stopped. A tool that ignores it runs to its end,
    and what it returns is recorded. A sandboxed tool is killed instead.
    """

    run_id: str
    step_id: str
    tenant: str
    agent: str | None
    idempotency_key: str
    attempt: int
    deadline: datetime
    credential: str | None = field(default=None, repr=False)
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)


class ToolCancelled(Exception):
    """What a tool raises when it stops because :attr:`ToolContext.cancelled` was set."""


ToolFunction = Callable[[Any, ToolContext], BaseModel]


@dataclass(frozen=True)
class Tool:
    """A contract and the function that fulfils it."""

    contract: ToolContract
    function: ToolFunction
