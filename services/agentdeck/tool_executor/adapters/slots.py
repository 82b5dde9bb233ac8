"""Approval slots: decisions parked until their approval's outcome, one row per approval id."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of
from agentdeck.tool_executor.adapters.tables import ApprovalSlotRow
from agentdeck.tool_executor.core.parking import ApprovalSlot

__all__ = ["SlotsRepository"]

_TABLE = table_of(ApprovalSlotRow)
_FIELDS = ("approval_id", "state", "decision", "grant_event_id", "payload_hash")
_GET = select(*(_TABLE.c[f] for f in _FIELDS)).where(
    _TABLE.c.approval_id.in_(bindparam("ids", expanding=True))
)


@per_dialect
def _upsert(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_TABLE)
    changed = (*_FIELDS[1:], "updated_at")
    return stmt.on_conflict_do_update(
        index_elements=["approval_id"], set_={c: stmt.excluded[c] for c in changed}
    )


class SlotsRepository:
    """Reads and writes ``executor_approval_slots``. Stateless; pass the connection.

    The ``decision`` text is stored as given: the caller seals it.
    """

    def get_many(self, conn: Connection, approval_ids: Collection[str]) -> dict[str, ApprovalSlot]:
        """The slots of ``approval_ids`` that exist, by approval id (one query)."""
        if not approval_ids:
            return {}
        rows = conn.execute(_GET, {"ids": sorted(set(approval_ids))}).mappings()
        return {row["approval_id"]: ApprovalSlot.model_validate(dict(row)) for row in rows}

    def upsert_many(self, conn: Connection, slots: Iterable[ApprovalSlot], now: datetime) -> None:
        """Write every slot unconditionally (last writer wins), in one statement."""
        rows = [slot.model_dump(include=set(_FIELDS)) | {"updated_at": now} for slot in slots]
        if rows:
            conn.execute(_upsert(conn), rows)
