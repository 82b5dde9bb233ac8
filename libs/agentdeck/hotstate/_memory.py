"""The in-process adapter: the embedded default when no Redis is configured."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from agentdeck.hotstate._args import (
    check_amount,
    check_bytes,
    check_keys,
    check_positive_int,
    integral_or_float,
    to_ms,
)
from agentdeck.hotstate._expiring import ExpiringMap
from agentdeck.hotstate._port import RateDecision
from agentdeck.hotstate.errors import HotStateClosedError

__all__ = ["InProcessHotState"]

_SWEEP_EVERY = 4096  # operations between sweeps of keys nobody reads again


class InProcessHotState:
    """Hot state in this process's memory, held to the same contract as Redis.

    Thread-safe: one lock serialises every operation. State is lost with the
    process and is not shared between processes or replicas.

    Args:
        clock: Monotonic seconds; inject one to control time in tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._ops = 0
        self._rates: ExpiringMap[deque[float]] = ExpiringMap()
        self._counters: ExpiringMap[Decimal] = ExpiringMap()
        self._cache: ExpiringMap[bytes] = ExpiringMap()
        self._seen: ExpiringMap[bool] = ExpiringMap()
        self._sessions: ExpiringMap[list[bytes]] = ExpiringMap()

    def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        """See :meth:`HotState.hit`."""
        check_positive_int(limit, name="limit")
        window = to_ms(window_s, name="window_s") / 1000
        with self._locked() as now:
            hits = self._rates.get(key, now) or deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                self._rates.put(key, hits, now + window)
                return RateDecision(allowed=True, count=len(hits), limit=limit, retry_after_s=0.0)
            blocking = hits[len(hits) - limit]
        return RateDecision(
            allowed=False, count=len(hits), limit=limit, retry_after_s=blocking + window - now
        )

    def incr(self, key: str, amount: int | float = 1, *, ttl_s: float | None = None) -> int | float:
        """See :meth:`HotState.incr`."""
        delta = Decimal(str(check_amount(amount)))
        ttl = None if ttl_s is None else to_ms(ttl_s, name="ttl_s") / 1000
        with self._locked() as now:
            current = self._counters.get(key, now)
            if current is None:
                value, deadline = delta, None if ttl is None else now + ttl
            else:
                value, deadline = current + delta, self._counters.deadline(key)
            self._counters.put(key, value, deadline)
        return integral_or_float(value)

    def get_counter(self, key: str) -> int | float:
        """See :meth:`HotState.get_counter`."""
        with self._locked() as now:
            value = self._counters.get(key, now)
        return 0 if value is None else integral_or_float(value)

    def cache_get(self, key: str) -> bytes | None:
        """See :meth:`HotState.cache_get`."""
        with self._locked() as now:
            return self._cache.get(key, now)

    def cache_set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        """See :meth:`HotState.cache_set`."""
        check_bytes(value, name="value")
        ttl = to_ms(ttl_s, name="ttl_s") / 1000
        with self._locked() as now:
            self._cache.put(key, value, now + ttl)

    def first_seen(self, keys: Sequence[str], *, ttl_s: float) -> list[bool]:
        """See :meth:`HotState.first_seen`."""
        check_keys(keys)
        ttl = to_ms(ttl_s, name="ttl_s") / 1000
        with self._locked() as now:
            return [self._mark_seen(key, now, now + ttl) for key in keys]

    def session_append(self, session_id: str, item: bytes, *, ttl_s: float, max_items: int) -> int:
        """See :meth:`HotState.session_append`."""
        check_bytes(item, name="item")
        check_positive_int(max_items, name="max_items")
        ttl = to_ms(ttl_s, name="ttl_s") / 1000
        with self._locked() as now:
            items = self._sessions.get(session_id, now) or []
            items.append(item)
            del items[:-max_items]
            self._sessions.put(session_id, items, now + ttl)
            return len(items)

    def session_read(self, session_id: str) -> list[bytes]:
        """See :meth:`HotState.session_read`."""
        with self._locked() as now:
            return list(self._sessions.get(session_id, now) or [])

    def ping(self) -> bool:
        """See :meth:`HotState.ping`."""
        return not self._closed

    def close(self) -> None:
        """Drop all state; later calls but ``ping`` raise :class:`HotStateClosedError`."""
        with self._lock:
            self._closed = True
            for entries in self._maps():
                entries.clear()

    def _mark_seen(self, key: str, now: float, deadline: float) -> bool:
        if self._seen.get(key, now):
            return False
        self._seen.put(key, True, deadline)
        return True

    @contextmanager
    def _locked(self) -> Iterator[float]:
        with self._lock:
            if self._closed:
                raise HotStateClosedError("the in-process hot state is closed")
            now = self._clock()
            self._ops += 1
            if self._ops % _SWEEP_EVERY == 0:
                for entries in self._maps():
                    entries.sweep(now)
            yield now

    def _maps(self) -> tuple[ExpiringMap[Any], ...]:
        return (self._rates, self._counters, self._cache, self._seen, self._sessions)
