"""Consumer idempotency: which event ids a consumer has already processed.

The loop asks before handling and records after the outputs are
acknowledged. A handler that keeps state in SQL records the ids in its own
transaction instead (``agentdeck.store``) and runs the loop without a log.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

__all__ = ["InMemoryProcessedLog", "ProcessedLog"]


class ProcessedLog(Protocol):
    """Port: a durable set of (consumer, event id)."""

    def filter_new(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ids in ``event_ids`` that ``consumer`` has not processed."""
        ...

    def mark(self, consumer: str, event_ids: Sequence[str]) -> None:
        """Record ``event_ids`` as processed by ``consumer``."""
        ...


class InMemoryProcessedLog:
    """A process-local log, for tests and for consumers whose work is naturally idempotent."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def filter_new(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ids not yet marked for ``consumer``."""
        with self._lock:
            return {i for i in event_ids if (consumer, i) not in self._seen}

    def mark(self, consumer: str, event_ids: Sequence[str]) -> None:
        """Remember ``event_ids`` for ``consumer``."""
        with self._lock:
            self._seen.update((consumer, i) for i in event_ids)
