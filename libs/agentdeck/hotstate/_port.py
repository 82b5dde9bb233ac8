"""The hot-state port: what services may ask of hot, TTL-bound state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["HotState", "RateDecision"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit on a sliding rate window.

    Attributes:
        allowed: Whether the hit fits in the window; a denied hit is not recorded.
        count: Hits recorded in the window now, including this one when allowed.
        limit: The most hits the window admits.
        retry_after_s: Seconds until a hit would be allowed again; ``0.0`` when allowed.
    """

    allowed: bool
    count: int
    limit: int
    retry_after_s: float

    @property
    def remaining(self) -> int:
        """Hits still admitted in the window right now."""
        return max(0, self.limit - self.count)


@runtime_checkable
class HotState(Protocol):
    """Hot, TTL-bound state shared by every replica of a service.

    Durations are seconds as ``float`` and are honoured to the millisecond. Keys of
    different operations live in separate namespaces, so a rate window and a counter
    may share a name. Expiry follows Redis: a key is gone once its TTL has passed.
    Every operation raises :class:`HotStateUnavailableError` when the backing store
    cannot be reached, and :class:`HotStateClosedError` after :meth:`close`.
    """

    def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        """Record one hit on a sliding window of ``window_s`` seconds, if it fits.

        Atomic under concurrency: of any number of simultaneous hits exactly
        ``limit`` are allowed in a window. A denied hit does not count.

        Raises:
            ValueError: ``limit`` is below 1 or ``window_s`` is not positive.
            HotStateUnavailableError: The backing store cannot be reached; retry later.
        """
        ...

    def incr(self, key: str, amount: int | float = 1, *, ttl_s: float | None = None) -> int | float:
        """Add ``amount`` to a counter (absent counters start at 0) and return the new value.

        The value is an ``int`` while it is integral and a ``float`` otherwise, exactly
        as it reads back from :meth:`get_counter`; decimal amounts add up as decimals
        (``0.1 + 0.2`` is ``0.3``). ``ttl_s`` applies when the increment creates the
        counter; later increments keep that deadline, which makes a fixed window.
        Values are exact while their magnitude stays below ``2**53``.

        Raises:
            TypeError: ``amount`` is not an ``int`` or a ``float``.
            ValueError: ``amount`` is not finite or ``ttl_s`` is not positive.
        """
        ...

    def get_counter(self, key: str) -> int | float:
        """Return a counter's value, or ``0`` when it is absent or expired."""
        ...

    def cache_get(self, key: str) -> bytes | None:
        """Return the cached bytes, or ``None`` when absent or expired."""
        ...

    def cache_set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        """Cache ``value`` under ``key`` for ``ttl_s`` seconds, replacing any value and TTL.

        Raises:
            TypeError: ``value`` is not ``bytes``.
        """
        ...

    def first_seen(self, keys: Sequence[str], *, ttl_s: float) -> list[bool]:
        """Mark keys as seen for ``ttl_s`` seconds; tell which were new, in one round trip.

        Returns:
            One flag per key, in order: ``True`` when the key was not seen before.
            A key repeated within ``keys`` is new at its first occurrence only.

        Raises:
            TypeError: ``keys`` is a single string rather than a sequence of them.
        """
        ...

    def session_append(self, session_id: str, item: bytes, *, ttl_s: float, max_items: int) -> int:
        """Append ``item`` to a session, keep its newest ``max_items`` and refresh its TTL.

        Returns:
            The number of items the session holds after the append.

        Raises:
            ValueError: ``max_items`` is below 1 or ``ttl_s`` is not positive.
        """
        ...

    def session_read(self, session_id: str) -> list[bytes]:
        """Return a session's items, oldest first; empty when absent or expired."""
        ...

    def ping(self) -> bool:
        """Return whether the state can be reached now; never raises."""
        ...

    def close(self) -> None:
        """Release resources; idempotent. Later calls but ``ping`` raise ``HotStateClosedError``."""
        ...
