"""Calling a tool function: timeout, retries with backoff, sandbox for sandboxed tools."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from agentdeck.contracts import ErrorInfo
from agentdeck.errors import Failure, RetryableError
from agentdeck.tool_executor.adapters.sandbox import (
    SandboxCancelled,
    SandboxTimeout,
    SubprocessSandbox,
)
from agentdeck.tool_executor.core import failures
from agentdeck.tool_executor.core.retry import Trouble, after
from agentdeck.tools import Tool, ToolContext

__all__ = ["UNKNOWN_WHY", "Invoked", "Invoker"]

UNKNOWN_WHY = "ended without reporting an outcome (timeout, crash or executor restart)"
"""Why a call's outcome is unknown; one wording, so a re-emitted failure is identical."""


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class Invoked:
    """How a call ended: output JSON, or a failure (``unknown`` if it may have acted).

    ``cancelled``: it was stopped on its cancel signal (no output, no failure of its own).
    """

    output_json: str | None = None
    failure: ErrorInfo | None = None
    unknown: bool = False
    cancelled: bool = False
    tries: int = 1
    tool_trouble: bool = False
    """Whether the tool itself misbehaved (counts against its circuit breaker)."""


def _in_thread(tool: Tool, args: BaseModel, ctx: ToolContext) -> str:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["ok"] = tool.function(args, ctx)
        except BaseException as exc:  # noqa: BLE001 - handed over to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"tool-{tool.contract.name}", daemon=True)
    worker.start()
    worker.join(tool.contract.timeout_s)
    if worker.is_alive():  # a thread cannot be killed: it finishes unobserved
        raise _Timeout
    if "error" in box:
        raise box["error"]
    result = box["ok"]
    if not isinstance(result, BaseModel):
        raise TypeError(f"returned {type(result).__name__}, not a pydantic model")
    return result.model_dump_json()


def _classify(error: Exception) -> Trouble:
    if isinstance(error, RetryableError):
        return Trouble.RETRYABLE
    if isinstance(error, Failure):
        return Trouble.TERMINAL
    if isinstance(error, _Timeout | SandboxTimeout):
        return Trouble.TIMEOUT
    return Trouble.CRASH  # SandboxCrashed, or anything the tool did not mean to raise


class Invoker:
    """Runs tool functions within their contracts' timeout and retry policy."""

    def __init__(
        self, sandbox: SubprocessSandbox, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._sandbox = sandbox
        self._sleep = sleep

    def _once(self, tool: Tool, args: BaseModel, ctx: ToolContext) -> str:
        if tool.contract.sandboxed:
            return self._sandbox.run(tool, args, ctx, timeout_s=tool.contract.timeout_s)
        return _in_thread(tool, args, ctx)

    def invoke(self, tool: Tool, args: BaseModel, ctx: ToolContext) -> Invoked:
        """Call the tool, retrying what the retry policy allows."""
        tries = 1
        while True:
            try:
                return Invoked(output_json=self._once(tool, args, ctx), tries=tries)
            except Exception as exc:  # noqa: BLE001 - every way a tool can fail is classified
                error: Exception = exc
            if isinstance(error, SandboxCancelled) or ctx.cancelled.is_set():
                return Invoked(cancelled=True, tries=tries)  # stopped, not failed: no retry
            trouble = _classify(error)
            verdict = after(trouble, attempt=tries, contract=tool.contract)
            if not verdict.retry:
                return self._ended(tool, ctx, trouble, error, tries, unknown=verdict.unknown)
            self._sleep(verdict.delay_s)
            if ctx.cancelled.is_set():
                return Invoked(cancelled=True, tries=tries)
            tries += 1

    @staticmethod
    def _ended(
        tool: Tool,
        ctx: ToolContext,
        trouble: Trouble,
        error: Exception,
        tries: int,
        *,
        unknown: bool,
    ) -> Invoked:
        contract = tool.contract
        if unknown:
            info = failures.outcome_unknown(contract, ctx.idempotency_key, UNKNOWN_WHY)
        elif isinstance(error, Failure):
            info = failures.from_failure(contract.name, error)
        elif trouble is Trouble.TIMEOUT:
            info = failures.timed_out(contract.name, contract.timeout_s, tries)
        else:
            info = failures.crashed(contract.name, f"{type(error).__name__}: {error}")
        bad = trouble is not Trouble.TERMINAL
        return Invoked(failure=info, unknown=unknown, tries=tries, tool_trouble=bad)
