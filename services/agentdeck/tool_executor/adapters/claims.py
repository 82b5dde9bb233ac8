"""Call claims: the decision event that first used each idempotency key."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from agentdeck.store.sql import bulk_insert_ignore, table_of
from agentdeck.tool_executor.adapters.tables import ClaimRow
from agentdeck.tool_executor.core.plan import Claim

__all__ = ["ClaimsRepository"]

_TABLE = table_of(ClaimRow)
_COLUMNS = ("idempotency_key", "decision_id", "event_id", "claimed_at")
_GET = select(_TABLE.c.idempotency_key, _TABLE.c.decision_id, _TABLE.c.event_id).where(
    _TABLE.c.idempotency_key.in_(bindparam("keys", expanding=True))
)


class ClaimsRepository:
    """Reads and writes ``executor_claims``. Stateless; pass the connection."""

    def get_many(self, conn: Connection, keys: Collection[str]) -> dict[str, Claim]:
        """The claims of ``keys`` that exist, by key (one query)."""
        if not keys:
            return {}
        rows = conn.execute(_GET, {"keys": sorted(set(keys))})
        return {key: Claim(decision_id, event_id) for key, decision_id, event_id in rows}

    def add_many(self, conn: Connection, claims: Mapping[str, Claim], now: datetime) -> int:
        """Claim each key that no one claimed yet (one statement); how many were new.

        A key claimed before keeps its first claim: insert-if-absent, so of
        writers racing on one key exactly one wins and the others change nothing.
        """
        rows = [
            {
                "idempotency_key": key,
                "decision_id": claim.decision_id,
                "event_id": claim.event_id,
                "claimed_at": now,
            }
            for key, claim in claims.items()
        ]
        return bulk_insert_ignore(conn, ClaimRow, _COLUMNS, rows)
