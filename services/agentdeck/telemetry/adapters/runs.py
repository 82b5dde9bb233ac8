"""The runs projection: one row per run with its current state and totals."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from agentdeck.contracts import FieldCipher
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of
from agentdeck.telemetry.adapters.tables import RunRow
from agentdeck.telemetry.core.runs import RunRecord, RunStatus

__all__ = ["RunsRepository", "opened_goal"]

# The projection keeps the goal as GoalSubmitted sealed it, bound to the goal's id;
# rows the planner wrote before telemetry kept the projection bound it to the run id.
_GOAL_PATH = "goal"
_PLANNER_GOAL_PATH = "runs.goal"


def opened_goal(cipher: FieldCipher, run: RunRecord) -> str:
    """``run``'s goal in the clear (or as ``cipher`` shows a goal it cannot open)."""
    if run.goal_event_id is None:
        return cipher.open(run.goal, event_id=run.run_id, path=_PLANNER_GOAL_PATH)
    return cipher.open(run.goal, event_id=run.goal_event_id, path=_GOAL_PATH)


_TABLE = table_of(RunRow)
_COLUMNS = tuple(_TABLE.c)


@per_dialect
def _put(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["run_id"],
        set_={c.name: stmt.excluded[c.name] for c in _COLUMNS if c.name != "run_id"},
    )


class RunsRepository:
    """Reads and writes the runs projection. Stateless; pass the connection."""

    def put_many(self, conn: Connection, runs: Sequence[RunRecord]) -> None:
        """Write each of ``runs`` as it is, in one round trip."""
        if runs:
            conn.execute(_put(conn), [_values(r) for r in runs])

    def get(self, conn: Connection, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or None if unknown."""
        return self.get_many(conn, [run_id]).get(run_id)

    def get_many(self, conn: Connection, run_ids: Collection[str]) -> dict[str, RunRecord]:
        """The known runs among ``run_ids``, by id."""
        if not run_ids:
            return {}
        stmt = select(*_COLUMNS).where(_TABLE.c.run_id.in_(list(run_ids)))
        return {row["run_id"]: _to_record(row) for row in conn.execute(stmt).mappings()}

    def list_runs(
        self,
        conn: Connection,
        *,
        status: RunStatus | None = None,
        tenant: str | None = None,
        agent: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first (by ``started_at``), optionally filtered.

        Args:
            conn: An open connection.
            status: Only runs in this status.
            tenant: Only runs of this tenant.
            agent: Only runs of this agent.
            limit: At most this many runs.
        """
        stmt = select(*_COLUMNS)
        if status is not None:
            stmt = stmt.where(_TABLE.c.status == status.value)
        if tenant is not None:
            stmt = stmt.where(_TABLE.c.tenant == tenant)
        if agent is not None:
            stmt = stmt.where(_TABLE.c.agent == agent)
        stmt = stmt.order_by(_TABLE.c.started_at.desc(), _TABLE.c.run_id.desc()).limit(limit)
        return [_to_record(row) for row in conn.execute(stmt).mappings()]

    def active(
        self, conn: Connection, *, tenant: str | None = None, agent: str | None = None
    ) -> list[RunRecord]:
        """Runs started and not ended (running or waiting for a human), oldest first."""
        live = (RunStatus.SUBMITTED, RunStatus.RUNNING, RunStatus.WAITING_APPROVAL)
        stmt = select(*_COLUMNS).where(_TABLE.c.status.in_([s.value for s in live]))
        if tenant is not None:
            stmt = stmt.where(_TABLE.c.tenant == tenant)
        if agent is not None:
            stmt = stmt.where(_TABLE.c.agent == agent)
        stmt = stmt.order_by(_TABLE.c.started_at, _TABLE.c.run_id)
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
