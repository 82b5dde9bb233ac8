"""What to do with a call, given what the effect ledger says about it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from agentdeck.tool_executor.core.retry import backoff_s
from agentdeck.tools import ToolContract

__all__ = ["Ledger", "Step", "longest_call_s", "next_step"]


class Ledger(Enum):
    """The ledger's answer to "begin this call"."""

    NEW = "new"
    """Nothing recorded: the caller now owns the call."""
    COMPLETED = "completed"
    FAILED = "failed"
    OPEN = "open"
    """Started (or flagged unknown) and never finished."""


class Step(Enum):
    """The executor's next move."""

    PERFORM = "perform"
    """Run the tool."""
    REEMIT = "reemit"
    """Publish the stored outcome again; run nothing."""
    WAIT = "wait"
    """Another executor may be running the call right now: try again later."""
    RERUN = "rerun"
    """An interrupted call of an idempotent tool: run it again under the same key."""
    UNKNOWN = "unknown"
    """An interrupted call that may have acted and may not be repeated: report it."""


def longest_call_s(contract: ToolContract) -> float:
    """The longest a call can legitimately take, every retry and backoff included."""
    attempts = contract.retry.max_attempts
    backoffs = sum(backoff_s(contract.retry, n) for n in range(1, attempts))
    return contract.timeout_s * attempts + backoffs


def next_step(
    found: Ledger,
    *,
    contract: ToolContract,
    started_at: datetime,
    now: datetime,
    grace_s: float,
) -> Step:
    """Reconcile: a call left open is never repeated blindly.

    An open call younger than its longest legitimate duration plus ``grace_s``
    may still be running elsewhere (a rebalance moved its partition), so the
    caller waits. Older, it was interrupted: idempotent tools run again with the
    same idempotency key; the others are reported as of unknown outcome.
    """
    if found is Ledger.NEW:
        return Step.PERFORM
    if found in (Ledger.COMPLETED, Ledger.FAILED):
        return Step.REEMIT
    if (now - started_at).total_seconds() < longest_call_s(contract) + grace_s:
        return Step.WAIT
    return Step.RERUN if contract.idempotent else Step.UNKNOWN
