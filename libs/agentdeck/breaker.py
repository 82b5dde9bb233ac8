"""A circuit breaker (per tool, per model endpoint) as a pure state machine.

``closed`` admits every call and counts consecutive failures; at the
threshold it ``open``s and fails calls fast; after the cooldown it goes
``half_open`` and admits one trial call, whose outcome closes or re-opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

__all__ = ["Breaker", "BreakerConfig", "admit", "record", "retry_after_s"]


@dataclass(frozen=True)
class BreakerConfig:
    """When a breaker opens and how long it stays open."""

    failures: int = 5
    cooldown_s: float = 30.0


@dataclass(frozen=True)
class Breaker:
    """One breaker (of a tool, of a model endpoint)."""

    state: Literal["closed", "open", "half_open"] = "closed"
    failures: int = 0
    opened_at: datetime | None = None


def _cooled(breaker: Breaker, config: BreakerConfig, now: datetime) -> bool:
    opened = breaker.opened_at
    return opened is None or (now - opened).total_seconds() >= config.cooldown_s


def admit(breaker: Breaker, config: BreakerConfig, now: datetime) -> tuple[Breaker, bool]:
    """Whether a call may go ahead now, and the breaker after deciding."""
    if breaker.state == "closed":
        return breaker, True
    if breaker.state == "open" and _cooled(breaker, config, now):
        return replace(breaker, state="half_open"), True  # this call is the trial
    return breaker, False  # open, or a half-open trial is already under way


def record(breaker: Breaker, config: BreakerConfig, now: datetime, *, ok: bool) -> Breaker:
    """The breaker after a call that went ahead succeeded (``ok``) or failed."""
    if ok:
        return Breaker()
    failures = breaker.failures + 1
    if breaker.state == "half_open" or failures >= config.failures:
        return Breaker(state="open", failures=failures, opened_at=now)
    return replace(breaker, failures=failures)


def retry_after_s(breaker: Breaker, config: BreakerConfig, now: datetime) -> float:
    """Seconds until an open breaker admits a trial call; 0 when it admits now."""
    if breaker.state != "open" or breaker.opened_at is None:
        return 0.0
    return max(0.0, config.cooldown_s - (now - breaker.opened_at).total_seconds())
