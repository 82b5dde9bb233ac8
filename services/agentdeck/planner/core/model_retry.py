"""When a failed model call is tried again: exponential backoff, jitter drawn outside, a budget.

Pure: the random draw, the attempt number and any wait the endpoint asked for
are passed in, and the verdict is recorded in ``LlmCallFailed`` (``retry_in_ms``,
``jitter_ms``), so replay folds the recorded verdict and draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentdeck.contracts.models import ErrorInfo

__all__ = ["ModelRetry", "Verdict", "after_failure"]


@dataclass(frozen=True)
class ModelRetry:
    """How often and how patiently one turn's model call is tried.

    Attributes:
        max_attempts: Attempts per turn, the first included; then the run fails.
        backoff_s: Wait after the first failed attempt; doubled after each one after it.
        max_backoff_s: The longest wait, before jitter.
        jitter: Share of the wait drawn at random, either way (0.5: 50% to 150% of it).
    """

    max_attempts: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    jitter: float = 0.5


@dataclass(frozen=True)
class Verdict:
    """Ask again after ``retry_in_ms`` (``jitter_ms`` of it random), or give up (None)."""

    retry_in_ms: int | None
    jitter_ms: int = 0


def after_failure(
    policy: ModelRetry, failure: ErrorInfo, *, attempt: int, draw: float, at_least_s: float = 0.0
) -> Verdict:
    """The verdict on failed attempt ``attempt`` (1-based).

    Args:
        policy: The retry budget and backoff.
        failure: What went wrong; a failure retrying cannot help (a 4xx) gives up at once.
        attempt: The attempt that failed.
        draw: A number in [0, 1), drawn by the caller; 0.5 means no jitter.
        at_least_s: A wait the endpoint or its breaker asked for (Retry-After, cooldown),
            kept up to the policy's longest backoff (a run is not parked for an hour).
    """
    if not failure.retryable or attempt >= policy.max_attempts:
        return Verdict(None)
    at_least_s = min(at_least_s, policy.max_backoff_s)
    base = min(policy.backoff_s * 2 ** (attempt - 1), policy.max_backoff_s)
    jitter = base * policy.jitter * (2 * draw - 1)
    if base + jitter < at_least_s:
        return Verdict(round(at_least_s * 1000))
    return Verdict(round((base + jitter) * 1000), round(jitter * 1000))
