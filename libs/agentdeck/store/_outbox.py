"""The outbox: what a service published, kept until the archive holds it.

A broker that loses records it acknowledged (the embedded one keeps its log
in memory) can lose an event a consumer already acted on before telemetry
archived it: the run moves on, and the archive has a hole no replay can fill.
Each service therefore keeps what it published here, byte for byte, and a
task of its own (:class:`agentdeck.runtime.Republisher`) drops what the archive
holds and publishes the rest again. Stateless; pass the connection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, delete, func, select, update

from agentdeck.store._dialect import bulk_insert_ignore, chunked
from agentdeck.store._models import OutboxRow
from agentdeck.store._types import Headers

__all__ = ["KeptRecord", "OutboxRepository"]

_COLUMNS = (
    "owner",
    "event_id",
    "topic",
    "key",
    "value",
    "headers",
    "kept_at",
    "due_at",
    "sent_again",
)


class Record(Protocol):
    """A published record, as the broker acknowledged it (what :meth:`OutboxRepository.keep`
    takes)."""

    @property
    def event_id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> Headers: ...


@dataclass(frozen=True)
class KeptRecord:
    """A record the outbox keeps: as published, with when it was kept and how often sent again."""

    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    kept_at: datetime
    sent_again: int = 0


class OutboxRepository:
    """Reads and writes ``outbox``, one owner (a service) at a time."""

    def keep(
        self,
        conn: Connection,
        owner: str,
        records: Sequence[Record],
        *,
        now: datetime,
        due_at: datetime,
    ) -> int:
        """Keep ``records`` (one statement; a record kept already stays as it was)."""
        rows = [
            {
                "owner": owner,
                "event_id": r.event_id,
                "topic": r.topic,
                "key": r.key,
                "value": r.value,
                "headers": r.headers,
                "kept_at": now,
                "due_at": due_at,
                "sent_again": 0,
            }
            for r in {r.event_id: r for r in records}.values()
        ]
        return bulk_insert_ignore(conn, OutboxRow, _COLUMNS, rows)

    def due(self, conn: Connection, owner: str, now: datetime, *, limit: int) -> list[KeptRecord]:
        """Up to ``limit`` of ``owner``'s records due for a check at ``now``, oldest first."""
        stmt = (
            select(
                OutboxRow.event_id,
                OutboxRow.topic,
                OutboxRow.key,
                OutboxRow.value,
                OutboxRow.headers,
                OutboxRow.kept_at,
                OutboxRow.sent_again,
            )
            .where(OutboxRow.owner == owner, OutboxRow.due_at <= now)
            .order_by(OutboxRow.due_at)
            .limit(limit)
        )
        return [KeptRecord(*row) for row in conn.execute(stmt)]

    def drop(self, conn: Connection, owner: str, event_ids: Collection[str]) -> int:
        """Forget ``event_ids`` (archived, or given up on); how many were kept."""
        dropped = 0
        for chunk in chunked(sorted(set(event_ids)), columns=1):
            stmt = delete(OutboxRow).where(OutboxRow.owner == owner, OutboxRow.event_id.in_(chunk))
            dropped += conn.execute(stmt).rowcount
        return dropped

    def reschedule(
        self,
        conn: Connection,
        owner: str,
        event_ids: Collection[str],
        *,
        due_at: datetime,
        sent_again: bool,
    ) -> None:
        """Check ``event_ids`` next at ``due_at``; ``sent_again``: they were just published
        again (counted), else the archive has not caught up with them yet."""
        values: dict[str, Any] = {"due_at": due_at}
        if sent_again:
            values["sent_again"] = OutboxRow.sent_again + 1
        for chunk in chunked(sorted(set(event_ids)), columns=1):
            stmt = (
                update(OutboxRow)
                .where(OutboxRow.owner == owner, OutboxRow.event_id.in_(chunk))
                .values(values)
            )
            conn.execute(stmt)

    def pending(self, conn: Connection, owner: str) -> int:
        """How many of ``owner``'s records the archive was not yet seen to hold."""
        stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.owner == owner)
        return int(conn.execute(stmt).scalar_one())
