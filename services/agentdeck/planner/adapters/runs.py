"""Run state in the store: the planner's own keyed state plus the runs projection."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from sqlalchemy import Connection

from agentdeck.planner.core import RunPhase, RunState, StepStatus
from agentdeck.store import RunRecord, RunStatus, Store

__all__ = ["SERVICE", "RunStates"]

SERVICE = "planner"

_STATUS = {
    RunPhase.COMPLETED: RunStatus.COMPLETED,
    RunPhase.FAILED: RunStatus.FAILED,
    RunPhase.CANCELLED: RunStatus.CANCELLED,
}


def _status(state: RunState) -> RunStatus:
    if state.phase in _STATUS:
        return _STATUS[state.phase]
    waiting = any(s.status is StepStatus.WAITING_APPROVAL for s in state.steps.values())
    return RunStatus.WAITING_APPROVAL if waiting else RunStatus.RUNNING


def _record(state: RunState, last_event_id: str | None) -> RunRecord:
    return RunRecord(
        run_id=state.run_id,
        tenant=state.tenant,
        agent=state.agent,
        status=_status(state),
        goal=state.goal,
        started_at=state.started_at,
        updated_at=state.updated_at,
        playbook_version=f"{state.playbook}@{state.playbook_version}",
        finished_at=state.finished_at,
        steps=state.steps_run,
        tool_calls=state.tool_calls,
        tokens=state.tokens,
        cost=Decimal(state.cost_micros) / 1_000_000,
        last_event_id=last_event_id,
    )


class RunStates:
    """Loads and saves run states; saving also refreshes the runs projection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, conn: Connection, run_ids: Collection[str]) -> dict[str, RunState]:
        """The states of the runs that exist."""
        entries = self._store.state.get_many(conn, SERVICE, run_ids)
        return {k: RunState.model_validate_json(e.state) for k, e in entries.items()}

    def save(
        self, conn: Connection, states: Mapping[str, RunState], last_events: Mapping[str, str]
    ) -> None:
        """Write ``states`` and their projection rows in the caller's transaction."""
        self._store.state.upsert_many(
            conn, SERVICE, {k: s.model_dump_json() for k, s in states.items()}
        )
        self._store.runs.upsert_many(
            conn, [_record(state, last_events.get(run_id)) for run_id, state in states.items()]
        )
