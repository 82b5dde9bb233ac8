"""The rows behind a case: its sealed document and the events waiting for Kafka.

:class:`CasesRepository` keeps each case's sealed JSON with a version for
optimistic concurrency; :class:`OutboxRepository` keeps the events a change
implies until Kafka has acknowledged them. Both are stateless and take the
caller's connection, so :class:`~agentdeck.approval.adapters.cases.CaseStore`
changes them in the same transaction as the ``approvals`` row. What the
sealed text and the encoded events mean is the case store's business.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update

from agentdeck.approval.adapters.tables import ApprovalCaseRow, ApprovalOutboxRow
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of

__all__ = ["CasesRepository", "OutboxEntry", "OutboxRepository", "SealedCase"]


@dataclass(frozen=True, slots=True)
class SealedCase:
    """A case as stored: sealed, with the version a write must expect."""

    approval_id: str
    version: int
    sealed_case: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting for Kafka's acknowledgement, as the codec encoded it."""

    event_id: str
    approval_id: str
    record: bytes
    created_at: datetime


_CASES = table_of(ApprovalCaseRow)
_OUTBOX = table_of(ApprovalOutboxRow)

_GET_CASES = select(*_CASES.c).where(
    _CASES.c.approval_id.in_(bindparam("approval_ids", expanding=True))
)
_KNOWN = select(_CASES.c.approval_id).where(
    _CASES.c.approval_id.in_(bindparam("approval_ids", expanding=True))
)
_REPLACE = (
    update(_CASES)
    .where(
        _CASES.c.approval_id == bindparam("target_id"),
        _CASES.c.version == bindparam("expected"),
    )
    .values(
        sealed_case=bindparam("sealed"),
        version=bindparam("next_version"),
        updated_at=bindparam("at"),
    )
)
_OLDEST = (
    select(*_OUTBOX.c).order_by(_OUTBOX.c.created_at, _OUTBOX.c.event_id).limit(bindparam("most"))
)
_REMOVE = delete(_OUTBOX).where(_OUTBOX.c.event_id.in_(bindparam("event_ids", expanding=True)))


@per_dialect
def _insert_case(insert: InsertFactory) -> AnyInsert:
    return insert(_CASES).on_conflict_do_nothing()


@per_dialect
def _upsert_outbox(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_OUTBOX)
    return stmt.on_conflict_do_update(
        index_elements=["event_id"],
        set_={"approval_id": stmt.excluded.approval_id, "record": stmt.excluded.record},
    )


class CasesRepository:
    """Sealed cases, one row per approval. Stateless; pass the connection."""

    def get_many(self, conn: Connection, approval_ids: Collection[str]) -> dict[str, SealedCase]:
        """The stored cases of ``approval_ids`` that exist, by approval id (one query)."""
        if not approval_ids:
            return {}
        rows = conn.execute(_GET_CASES, {"approval_ids": list(set(approval_ids))}).mappings()
        return {row["approval_id"]: SealedCase(**row) for row in rows}

    def known(self, conn: Connection, approval_ids: Collection[str]) -> set[str]:
        """Which of ``approval_ids`` have a case (one query; no case is read)."""
        if not approval_ids:
            return set()
        rows = conn.execute(_KNOWN, {"approval_ids": list(set(approval_ids))})
        return set(rows.scalars())

    def insert_new(
        self, conn: Connection, approval_id: str, sealed_case: str, now: datetime
    ) -> bool:
        """Store a new case at version 1; False (and nothing written) if it exists already."""
        values = {
            "approval_id": approval_id,
            "version": 1,
            "sealed_case": sealed_case,
            "updated_at": now,
        }
        return conn.execute(_insert_case(conn), values).rowcount == 1

    def replace(
        self,
        conn: Connection,
        approval_id: str,
        sealed_case: str,
        *,
        expected_version: int,
        now: datetime,
    ) -> int | None:
        """Write ``sealed_case`` if the stored version is still ``expected_version``.

        One conditional UPDATE, so of two writers expecting the same version
        exactly one succeeds.

        Returns:
            The new version, or None if another writer got there first (or the
            case does not exist).
        """
        params = {
            "target_id": approval_id,
            "expected": expected_version,
            "sealed": sealed_case,
            "next_version": expected_version + 1,
            "at": now,
        }
        return expected_version + 1 if conn.execute(_REPLACE, params).rowcount == 1 else None


class OutboxRepository:
    """Events waiting for Kafka, by event id. Stateless; pass the connection."""

    def add(self, conn: Connection, entries: Sequence[OutboxEntry]) -> None:
        """Queue ``entries`` in one statement; an event queued again is overwritten."""
        if not entries:
            return
        rows = [
            {
                "event_id": e.event_id,
                "approval_id": e.approval_id,
                "record": e.record,
                "created_at": e.created_at,
            }
            for e in entries
        ]
        conn.execute(_upsert_outbox(conn), rows)

    def oldest(self, conn: Connection, *, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` waiting events, oldest first (ties in event id order)."""
        rows = conn.execute(_OLDEST, {"most": limit}).mappings()
        return [OutboxEntry(**{**row, "record": bytes(row["record"])}) for row in rows]

    def remove(self, conn: Connection, event_ids: Collection[str]) -> int:
        """Drop the events ``event_ids`` (one statement); how many were waiting."""
        if not event_ids:
            return 0
        return conn.execute(_REMOVE, {"event_ids": list(set(event_ids))}).rowcount
