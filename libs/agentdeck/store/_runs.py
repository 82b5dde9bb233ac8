"""The runs projection: one row per run with its current state and totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select

from agentdeck.store._dialect import AnyInsert, InsertFactory, per_dialect, table_of
from agentdeck.store._enums import RunStatus
from agentdeck.store._models import RunRow

__all__ = ["RunRecord", "RunsRepository"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """The current state of one run.

    Attributes:
        run_id: The run's id.
        tenant: Tenant that owns the run.
        agent: Agent executing the run.
        status: Where the run stands.
        goal: The goal as submitted.
        started_at: When the run was submitted.
        updated_at: When this state was reached; older states never overwrite newer ones.
        playbook_version: Playbook version the run is pinned to, if playbook-driven.
        planner_version: Planner version the run is pinned to, if LLM-planned.
        finished_at: When the run reached a final status.
        steps: Steps finished so far.
        tool_calls: Tool calls made so far.
        tokens: LLM tokens used so far.
        cost: Money spent so far.
        last_event_id: Id of the last event folded into this state.
    """

    run_id: str
    tenant: str
    agent: str
    status: RunStatus
    goal: str
    started_at: datetime
    updated_at: datetime
    playbook_version: str | None = None
    planner_version: str | None = None
    finished_at: datetime | None = None
    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    last_event_id: str | None = None


_TABLE = table_of(RunRow)
_COLUMNS = tuple(_TABLE.c)
_GET = select(*_COLUMNS).where(_TABLE.c.run_id == bindparam("run_id"))


@per_dialect
def _upsert(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["run_id"],
        set_={c.name: stmt.excluded[c.name] for c in _COLUMNS if c.name != "run_id"},
        where=_TABLE.c.updated_at <= stmt.excluded.updated_at,
    )


class RunsRepository:
    """Reads and writes the runs projection. Stateless; pass the connection."""

    def upsert(self, conn: Connection, run: RunRecord) -> bool:
        """Insert ``run`` or overwrite the stored row unless that row is newer.

        Returns:
            True if the row was written; False if the stored ``updated_at`` is
            later than ``run.updated_at`` (a stale update is ignored).
        """
        values = _values(run)
        return conn.execute(_upsert(conn), values).rowcount == 1

    def upsert_many(self, conn: Connection, runs: Sequence[RunRecord]) -> None:
        """:meth:`upsert` each of ``runs`` in one round trip (stale updates are ignored)."""
        if runs:
            conn.execute(_upsert(conn), [_values(r) for r in runs])

    def get(self, conn: Connection, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or None if unknown."""
        row = conn.execute(_GET, {"run_id": run_id}).mappings().first()
        return None if row is None else _to_record(row)

    def list_runs(
        self,
        conn: Connection,
        *,
        status: RunStatus | None = None,
        tenant: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first (by ``started_at``), optionally filtered.

        Args:
            conn: An open connection.
            status: Only runs in this status.
            tenant: Only runs of this tenant.
            limit: At most this many runs.
        """
        stmt = select(*_COLUMNS)
        if status is not None:
            stmt = stmt.where(_TABLE.c.status == status.value)
        if tenant is not None:
            stmt = stmt.where(_TABLE.c.tenant == tenant)
        stmt = stmt.order_by(_TABLE.c.started_at.desc(), _TABLE.c.run_id.desc()).limit(limit)
        return [_to_record(row) for row in conn.execute(stmt).mappings()]


_FIELDS = tuple(f.name for f in fields(RunRecord))


def _values(run: RunRecord) -> dict[str, Any]:
    # Shallow on purpose: dataclasses.asdict deep-copies every field.
    values = {name: getattr(run, name) for name in _FIELDS}
    values["status"] = run.status.value
    return values


def _to_record(row: RowMapping) -> RunRecord:
    values: dict[str, Any] = dict(row)
    values["status"] = RunStatus(values["status"])
    return RunRecord(**values)
