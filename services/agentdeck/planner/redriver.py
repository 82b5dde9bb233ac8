"""The re-drive task: every tick, publish again the requests of runs that stalled, ask the
model again for those that stalled waiting for it, and end the runs whose deadline came
while they waited.

A run stalls when a call of it is in flight and nothing has moved it for
``redrive_after`` (its ``wake_at`` in ``planner_runs``, set by every save). The
task publishes the call's request again, same id, signed as the planner signs
(see :mod:`agentdeck.planner.core.redrive`), and moves the run's wake-up on, so
a run that stays stalled is re-driven again later, never in a tight loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from agentdeck.contracts import Event, Producer
from agentdeck.kafka import EventProducer
from agentdeck.planner.adapters.records import RunStatesTable
from agentdeck.planner.adapters.runs import RunStates
from agentdeck.planner.core import RunPhase, RunState
from agentdeck.planner.core.llm import waits_for_model
from agentdeck.planner.core.redrive import deadline_reached, next_wake, requests_to_redrive
from agentdeck.runtime import Clock, ticking
from agentdeck.store import Store

__all__ = ["Redriver"]

log = logging.getLogger(__name__)

_BATCH = 200


class Redriver:
    """Re-drives stalled runs about every ``interval_s`` until stopped."""

    def __init__(
        self,
        store: Store,
        runs: RunStates,
        producer: EventProducer,
        *,
        clock: Clock,
        identity: Producer,
        redrive_after: timedelta,
        interval_s: float,
        ask_model: Callable[[Iterable[RunState]], None] | None = None,
    ) -> None:
        self._identity = identity
        self._store = store
        self._runs = runs
        self._table = RunStatesTable()
        self._producer = producer
        self._clock = clock
        self._after = redrive_after
        self._interval_s = interval_s
        self._ask_model = ask_model
        self.redriven = 0

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set (a service background task)."""
        ticking(self.tick, every_s=self._interval_s, what="re-drive")(stop)

    def tick(self) -> int:
        """Re-drive the runs that are due; how many events were published again."""
        now = self._clock()
        with self._store.transaction(read_only=True) as conn:
            due = self._table.due(conn, now, limit=_BATCH)
            finals = {run: final for run, (_at, final) in due.items() if final is not None}
            archived = self._store.archive.known(conn, finals.values())
            confirmed = {run for run, final in finals.items() if final in archived}
            states = self._runs.load(conn, [r for r in due if r not in confirmed])
        events: list[Event] = []
        waiting: list[RunState] = []
        for state in states.values():
            events += self._redrive(state, now)
            if state.phase is RunPhase.RUNNING and waits_for_model(state):
                waiting.append(state)
        if waiting and self._ask_model is not None:
            self._ask_model(waiting)  # a turn this process asks already is not asked twice
        if events:
            self._producer.send_all(events)
            self._producer.flush()
            log.warning(
                "re-drove %d event(s) of %d run(s): %s",
                len(events),
                len(states),
                ", ".join(sorted(states)[:5]),
            )
        if due:
            wakes = {run: at for run, (at, _final) in due.items()}
            with self._store.transaction() as conn:
                self._table.snooze(conn, {r: wakes[r] for r in confirmed}, None)
                for run, at in wakes.items():
                    if run not in confirmed:
                        self._table.snooze(conn, {run: at}, self._next(states.get(run), now))
        self.redriven += len(events)
        return len(events)

    def _next(self, state: RunState | None, now: datetime) -> datetime:
        return now + self._after if state is None else next_wake(state, now, self._after)

    def _redrive(self, state: RunState, now: datetime) -> list[Event]:
        """What to publish again for ``state``: its final event (not archived yet), the end of
        its deadline, or its requests in flight."""
        if state.phase is not RunPhase.RUNNING:
            return [state.ended_with] if state.ended_with is not None else []
        ended = deadline_reached(state, now, producer=self._identity)
        return [ended] if ended is not None else list(requests_to_redrive(state))
