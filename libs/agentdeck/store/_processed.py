"""Consumer idempotency: which events each consumer has already handled."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from agentdeck.store._dialect import chunked, insert_for
from agentdeck.store._models import ProcessedEventRow

__all__ = ["ProcessedEventsRepository"]


class ProcessedEventsRepository:
    """Records processed event ids per consumer. Stateless; pass the connection.

    A consumer calls :meth:`filter_new` for a batch, handles the new events, and
    calls :meth:`mark` in the same transaction as the state those events changed,
    so a redelivered batch is recognised even after a crash.
    """

    def filter_new(self, conn: Connection, consumer: str, event_ids: Collection[str]) -> set[str]:
        """The ids among ``event_ids`` that ``consumer`` has not recorded yet.

        One query for any batch of a normal size.
        """
        unique = list(dict.fromkeys(event_ids))
        seen: set[str] = set()
        for chunk in chunked(unique, columns=1):
            stmt = select(ProcessedEventRow.event_id).where(
                ProcessedEventRow.consumer == consumer,
                ProcessedEventRow.event_id.in_(chunk),
            )
            seen.update(conn.execute(stmt).scalars())
        return set(unique) - seen

    def mark(
        self,
        conn: Connection,
        consumer: str,
        event_ids: Collection[str],
        *,
        now: datetime | None = None,
    ) -> int:
        """Record ``event_ids`` as processed by ``consumer``; ids already recorded are skipped.

        Args:
            conn: Connection inside the caller's transaction.
            consumer: Name of the consumer (usually its consumer group).
            event_ids: Ids handled in this transaction.
            now: Time to record; defaults to the current time.

        Returns:
            How many ids were newly recorded.
        """
        if not event_ids:
            return 0
        at = now or datetime.now(UTC)
        rows = [
            {"consumer": consumer, "event_id": event_id, "processed_at": at}
            for event_id in dict.fromkeys(event_ids)
        ]
        recorded = 0
        for chunk in chunked(rows, columns=3):
            stmt = insert_for(conn, ProcessedEventRow).values(list(chunk))
            recorded += conn.execute(stmt.on_conflict_do_nothing()).rowcount
        return recorded
