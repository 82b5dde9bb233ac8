"""Admission control: per-tool concurrency and breakers (per process), rate limits (shared)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from agentdeck import breaker
from agentdeck.contracts import ErrorInfo
from agentdeck.hotstate import HotState
from agentdeck.tool_executor.core import failures
from agentdeck.tools import ToolContract

__all__ = ["ToolGuards"]


class ToolGuards:
    """Admission control for tool calls.

    Breakers and concurrency slots belong to this executor process (they guard
    what this process sends to a tool); rate windows live in hot state, so every
    replica shares a tenant's allowance.
    """

    def __init__(self, hot: HotState, config: breaker.BreakerConfig) -> None:
        self._hot = hot
        self._config = config
        self._lock = threading.Lock()
        self._breakers: dict[str, breaker.Breaker] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def rate_limit(self, contract: ToolContract, tenant: str) -> ErrorInfo | None:
        """A ``rate_limited`` failure if the tenant used up the tool's minute, else None."""
        limit = contract.rate_limit_per_minute
        if not limit:
            return None
        hit = self._hot.hit(f"executor:rate:{tenant}:{contract.name}", limit=limit, window_s=60.0)
        if hit.allowed:
            return None
        return failures.rate_limited(contract.name, tenant, limit, hit.retry_after_s)

    def admit(self, contract: ToolContract, now: datetime) -> ErrorInfo | None:
        """A ``circuit_open`` failure if the tool's breaker refuses the call, else None."""
        with self._lock:
            state = self._breakers.get(contract.name, breaker.Breaker())
            state, ok = breaker.admit(state, self._config, now)
            self._breakers[contract.name] = state
        if ok:
            return None
        wait = breaker.retry_after_s(state, self._config, now)
        return failures.circuit_open(contract.name, state.failures, wait)

    def record(self, contract: ToolContract, now: datetime, *, ok: bool) -> None:
        """Feed a call's outcome to the tool's breaker."""
        with self._lock:
            state = self._breakers.get(contract.name, breaker.Breaker())
            self._breakers[contract.name] = breaker.record(state, self._config, now, ok=ok)

    def breaker(self, tool: str) -> breaker.Breaker:
        """The tool's breaker as it stands (for status pages and tests)."""
        with self._lock:
            return self._breakers.get(tool, breaker.Breaker())

    @contextmanager
    def slot(self, contract: ToolContract) -> Iterator[bool]:
        """Hold one of the tool's concurrency slots; yields False if none freed in time."""
        with self._lock:
            sem = self._slots.setdefault(
                contract.name, threading.BoundedSemaphore(contract.max_concurrency)
            )
        got = sem.acquire(timeout=contract.timeout_s)
        try:
            yield got
        finally:
            if got:
                sem.release()
