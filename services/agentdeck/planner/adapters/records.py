"""Reads and writes the planner's tables: run states and recorded model answers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from agentdeck.planner.adapters.tables import ModelCallRow, RunStateRow
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of

__all__ = ["KeptAnswer", "ModelCallsTable", "RunStatesTable"]

_RUNS = table_of(RunStateRow)
_CALLS = table_of(ModelCallRow)


@per_dialect
def _put_states(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_RUNS)
    return stmt.on_conflict_do_update(
        index_elements=["run_id"],
        set_={
            "state": stmt.excluded.state,
            "updated_at": stmt.excluded.updated_at,
            "wake_at": stmt.excluded.wake_at,
            "final_event_id": stmt.excluded.final_event_id,
        },
    )


@per_dialect
def _add_call(insert: InsertFactory) -> AnyInsert:
    return insert(_CALLS).on_conflict_do_nothing()


_CALL = select(_CALLS.c.response, _CALLS.c.cached, _CALLS.c.latency_ms).where(
    _CALLS.c.run_id == bindparam("run"), _CALLS.c.turn == bindparam("turn")
)


class KeptAnswer(NamedTuple):
    """A recorded model answer (sealed) and how it was obtained."""

    response: str
    cached: bool
    latency_ms: int


class RunStatesTable:
    """``planner_runs``: each run's sealed state. Stateless; pass the connection."""

    def get_many(self, conn: Connection, run_ids: Collection[str]) -> dict[str, str]:
        """The stored texts of the runs among ``run_ids`` that exist, by run id."""
        if not run_ids:
            return {}
        stmt = select(_RUNS.c.run_id, _RUNS.c.state).where(_RUNS.c.run_id.in_(list(run_ids)))
        return {row.run_id: row.state for row in conn.execute(stmt)}

    def put_many(
        self,
        conn: Connection,
        states: Sequence[tuple[str, str, datetime, datetime | None, str | None]],
    ) -> None:
        """Write each ``(run id, text, updated at, wake at, final event id)`` in one statement;
        the last write wins."""
        if states:
            rows = [
                {
                    "run_id": r,
                    "state": s,
                    "updated_at": at,
                    "wake_at": wake,
                    "final_event_id": final,
                }
                for r, s, at, wake, final in states
            ]
            conn.execute(_put_states(conn), rows)

    def due(
        self, conn: Connection, now: datetime, *, limit: int
    ) -> dict[str, tuple[datetime, str | None]]:
        """The runs whose wake-up has come (oldest first): the wake-up and the final event id."""
        stmt = (
            select(_RUNS.c.run_id, _RUNS.c.wake_at, _RUNS.c.final_event_id)
            .where(_RUNS.c.wake_at <= now)
            .order_by(_RUNS.c.wake_at)
            .limit(limit)
        )
        return {row.run_id: (row.wake_at, row.final_event_id) for row in conn.execute(stmt)}

    def snooze(self, conn: Connection, due: dict[str, datetime], until: datetime | None) -> None:
        """Move the wake-up of the ``due`` runs to ``until`` (None: never), unless a save
        moved it meanwhile."""
        for run_id, was in due.items():
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.wake_at == was)
                .values(wake_at=until)
            )


class ModelCallsTable:
    """``planner_model_calls``: the answer to each run's turn, written once."""

    def get(self, conn: Connection, run_id: str, turn: int) -> KeptAnswer | None:
        """The recorded (sealed) answer to ``run_id``'s ``turn``, if any."""
        row = conn.execute(_CALL, {"run": run_id, "turn": turn}).first()
        if row is None:
            return None
        response, cached, latency_ms = row
        return KeptAnswer(response, True if cached is None else bool(cached), latency_ms or 0)

    def add(
        self,
        conn: Connection,
        run_id: str,
        turn: int,
        answer: KeptAnswer,
        *,
        at: datetime,
    ) -> bool:
        """Record the answer unless one is recorded already; whether this one was."""
        row = {
            "run_id": run_id,
            "turn": turn,
            "response": answer.response,
            "recorded_at": at,
            "cached": answer.cached,
            "latency_ms": answer.latency_ms,
        }
        return conn.execute(_add_call(conn), row).rowcount == 1
