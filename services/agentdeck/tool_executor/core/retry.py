"""What to do after a tool attempt went wrong: retry, give up, or admit not knowing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from agentdeck.tools import RetryPolicy, SideEffect, ToolContract

__all__ = ["Trouble", "Verdict", "after", "backoff_s"]


class Trouble(Enum):
    """How an attempt went wrong."""

    RETRYABLE = "retryable"
    """The tool raised a retryable error: nothing happened, trying again may work."""
    TERMINAL = "terminal"
    """The tool raised a terminal error: nothing happened, trying again cannot work."""
    TIMEOUT = "timeout"
    """No answer in time: the effect may or may not have happened."""
    CRASH = "crash"
    """The tool raised something unexpected: the effect may be half done."""


@dataclass(frozen=True)
class Verdict:
    """``retry`` after ``delay_s``; else the call ended, ``unknown`` if its effect may exist."""

    retry: bool
    delay_s: float = 0.0
    unknown: bool = False


def backoff_s(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff before the attempt after ``attempt`` (no jitter: replayable)."""
    return float(min(policy.backoff_s * 2 ** (attempt - 1), policy.max_backoff_s))


def _may_have_acted(contract: ToolContract) -> bool:
    return contract.side_effect is not SideEffect.READ


def after(trouble: Trouble, *, attempt: int, contract: ToolContract) -> Verdict:
    """The verdict on attempt number ``attempt`` (1-based) of a call of ``contract``'s tool.

    Retryable errors are retried within the policy (the tool says nothing
    happened). A timeout is retried (same idempotency key) only for idempotent
    tools. A crash is never retried. When a timeout or a crash ends the call,
    a tool that writes may have acted: the outcome is unknown.
    """
    more = attempt < contract.retry.max_attempts
    delay = backoff_s(contract.retry, attempt)
    if trouble is Trouble.RETRYABLE:
        return Verdict(retry=more, delay_s=delay)
    if trouble is Trouble.TIMEOUT and contract.idempotent and more:
        return Verdict(retry=True, delay_s=delay)
    if trouble in (Trouble.TIMEOUT, Trouble.CRASH):
        return Verdict(retry=False, unknown=_may_have_acted(contract))
    return Verdict(retry=False)
