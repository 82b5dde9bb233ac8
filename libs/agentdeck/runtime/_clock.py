"""The one place services read the wall clock; cores get time passed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware. Tests and replay pass their own."""


def utc_now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)
