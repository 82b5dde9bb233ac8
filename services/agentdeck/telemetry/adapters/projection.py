"""The runs projection, kept in the archive's transaction (see ``telemetry.core.runs``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.store import ArchiveRepository
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import fold_runs, goal_of, run_of

__all__ = ["RunsProjection"]


class RunsProjection:
    """Folds newly archived events into the runs they belong to.

    Called inside the transaction that archived the events, and only with the
    events that transaction archived first: a redelivered event is folded
    once, and the archive's write lock makes concurrent writers take turns.
    """

    def __init__(self, decode: Callable[[bytes], Event | None]) -> None:
        self._decode = decode
        self._runs = RunsRepository()
        self._archive = ArchiveRepository()

    def fold(self, conn: Connection, events: Sequence[Event]) -> int:
        """Fold ``events`` (archived here for the first time); how many runs changed."""
        run_ids = {r for e in events if (r := run_of(e)) is not None}
        if not run_ids:
            return 0
        known = self._runs.get_many(conn, run_ids)
        in_batch = {e.envelope.event_id for e in events if isinstance(e, m.GoalSubmitted)}
        wanted = {g for e in events if (g := goal_of(e)) is not None} - in_batch
        changed = fold_runs(known, events, self._goals(conn, wanted))
        self._runs.put_many(conn, list(changed.values()))
        return len(changed)

    def _goals(self, conn: Connection, goal_ids: set[str]) -> dict[str, str]:
        goals: dict[str, str] = {}
        for event_id, payload in self._archive.payloads_of(conn, goal_ids).items():
            event = self._decode(payload)
            if isinstance(event, m.GoalSubmitted):
                goals[event_id] = event.goal
        return goals
