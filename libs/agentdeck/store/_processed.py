"""Consumer idempotency: which events each consumer has already handled."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, select

from agentdeck.store._dialect import bulk_insert_ignore, chunked, is_postgres
from agentdeck.store._models import ProcessedEventRow

__all__ = ["ProcessedEventsRepository"]

_COLUMNS = ("consumer", "event_id", "processed_at")
_SEEN = select(ProcessedEventRow.event_id).where(
    ProcessedEventRow.consumer == bindparam("consumer")
)
# PostgreSQL: the ids travel as one binary array parameter, so the statement never
# changes and costs no per-id quoting.
_SEEN_ANY = (
    "SELECT event_id FROM processed_events "
    "WHERE consumer = %(consumer)s AND event_id = ANY(%(ids)b::VARCHAR[])"
)


class ProcessedEventsRepository:
    """Records processed event ids per consumer. Stateless; pass the connection.

    A consumer calls :meth:`filter_new` for a batch, handles the new events, and
    calls :meth:`mark` in the same transaction as the state those events changed,
    so a redelivered batch is recognised even after a crash.
    """

    def filter_new(self, conn: Connection, consumer: str, event_ids: Collection[str]) -> set[str]:
        """The ids among ``event_ids`` that ``consumer`` has not recorded yet.

        One query (on SQLite, one per 30,000 ids).
        """
        unique = set(event_ids)
        if not unique:
            return set()
        params = {"consumer": consumer, "ids": list(unique)}
        if is_postgres(conn):
            return unique.difference(conn.exec_driver_sql(_SEEN_ANY, params).scalars())
        for chunk in chunked(params["ids"], columns=1):
            stmt = _SEEN.where(ProcessedEventRow.event_id.in_(chunk))
            unique.difference_update(conn.execute(stmt, {"consumer": consumer}).scalars())
        return unique

    def mark(
        self,
        conn: Connection,
        consumer: str,
        event_ids: Collection[str],
        *,
        now: datetime | None = None,
    ) -> int:
        """Record ``event_ids`` as processed by ``consumer``; ids already recorded are skipped.

        One ``INSERT ... ON CONFLICT DO NOTHING`` statement.

        Args:
            conn: Connection inside the caller's transaction.
            consumer: Name of the consumer (usually its consumer group).
            event_ids: Ids handled in this transaction.
            now: Time to record; defaults to the current time.

        Returns:
            How many ids were newly recorded.
        """
        at = now or datetime.now(UTC)
        rows = [
            {"consumer": consumer, "event_id": event_id, "processed_at": at}
            for event_id in dict.fromkeys(event_ids)
        ]
        return bulk_insert_ignore(conn, ProcessedEventRow, _COLUMNS, rows)
