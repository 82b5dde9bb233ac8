"""The consumer loop's processed-event log, kept in the store."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from agentdeck.store._processed import ProcessedEventsRepository
from agentdeck.store._tx import transaction

__all__ = ["SqlProcessedLog"]


class SqlProcessedLog:
    """Implements ``agentdeck.kafka.ProcessedLog`` with one short transaction per call.

    For loops whose handler keeps no SQL state of its own. A handler that
    writes state records the ids in its own transaction instead
    (:class:`ProcessedEventsRepository`), which is stronger.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._repository = ProcessedEventsRepository()

    def filter_new(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ids ``consumer`` has not processed yet."""
        with transaction(self._engine, read_only=True) as conn:
            return self._repository.filter_new(conn, consumer, event_ids)

    def mark(self, consumer: str, event_ids: Sequence[str]) -> None:
        """Record ``event_ids`` as processed by ``consumer``."""
        with transaction(self._engine) as conn:
            self._repository.mark(conn, consumer, event_ids)
