"""A map whose entries may carry a deadline on a monotonic clock.

Not thread-safe: the in-process adapter holds its lock around every use.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["ExpiringMap"]

V = TypeVar("V")


class ExpiringMap(Generic[V]):
    """Entries expire lazily, when read after their deadline, or in a :meth:`sweep`."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[V, float | None]] = {}

    def get(self, key: str, now: float) -> V | None:
        """Return the live value under ``key``, dropping it if its deadline has passed."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if _expired(deadline, now):
            del self._entries[key]
            return None
        return value

    def deadline(self, key: str) -> float | None:
        """Return the deadline of ``key``; call only after :meth:`get` found it live."""
        return self._entries[key][1]

    def put(self, key: str, value: V, deadline: float | None) -> None:
        """Store ``value`` under ``key``, living until ``deadline`` (``None``: forever)."""
        self._entries[key] = (value, deadline)

    def sweep(self, now: float) -> None:
        """Drop every entry whose deadline has passed, so unread keys do not pile up."""
        dead = [key for key, (_, deadline) in self._entries.items() if _expired(deadline, now)]
        for key in dead:
            del self._entries[key]

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _expired(deadline: float | None, now: float) -> bool:
    # Redis keeps a key alive up to and including its deadline.
    return deadline is not None and now > deadline
