"""Errors raised by the hot-state port and its adapters.

Adapters translate driver exceptions into these types, so callers never see a
``redis`` exception and can tell an outage (retry later) from a wiring mistake.
"""

from __future__ import annotations

from agentdeck.errors import AgentdeckError, ConfigError, RetryableError

__all__ = [
    "HotStateClosedError",
    "HotStateConfigError",
    "HotStateError",
    "HotStateUnavailableError",
]


class HotStateError(AgentdeckError):
    """Root of every error the hot-state package raises."""


class HotStateConfigError(HotStateError, ConfigError):
    """The hot state is configured wrongly: an unusable Redis URL or key prefix."""


class HotStateClosedError(HotStateError):
    """An operation was called after ``close()``; a wiring bug, not an outage."""


class HotStateUnavailableError(HotStateError, RetryableError):
    """Redis cannot serve the operation right now (unreachable, timed out, loading, read-only).

    The same call may succeed later, so the consumer loop retries it with backoff.

    Args:
        operation: The port operation that failed (``hit``, ``incr``, ``first_seen``...).
        detail: What the driver reported.
    """

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(
            f"hot state unavailable during {operation}: {detail}",
            capability=f"hotstate.{operation}",
            code="hotstate_unavailable",
            remediation=(
                "retry with backoff",
                "check that Redis is running and reachable at the configured URL",
            ),
        )
        self.operation = operation
