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
from datetime import timedelta

from agentdeck.contracts import Event, Producer
from agentdeck.errors import Failure
from agentdeck.kafka import EventProducer
from agentdeck.planner.adapters.records import RunStatesTable
from agentdeck.planner.adapters.runs import RunStates
from agentdeck.planner.core import RunState
from agentdeck.planner.core.llm import waits_for_model
from agentdeck.planner.core.redrive import deadline_reached, requests_to_redrive
from agentdeck.runtime import Clock
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
        while not stop.wait(self._interval_s):
            try:
                self.tick()
            except Failure as exc:
                log.warning("re-drive failed (%s): %s", exc.code, exc.message)
            except Exception:  # the timer must outlive one bad tick
                log.exception("re-drive failed")

    def tick(self) -> int:
        """Re-drive the runs that are due; how many requests were published again."""
        now = self._clock()
        with self._store.transaction(read_only=True) as conn:
            due = self._table.due(conn, now, limit=_BATCH)
            states = self._runs.load(conn, due) if due else {}
        requests: list[Event] = []
        waiting: list[RunState] = []
        for state in states.values():
            ended = deadline_reached(state, now, producer=self._identity)
            requests += [ended] if ended is not None else requests_to_redrive(state)
            if ended is None and waits_for_model(state):
                waiting.append(state)
        if waiting and self._ask_model is not None:
            self._ask_model(waiting)  # a turn this process asks already is not asked twice
        if requests:
            self._producer.send_all(requests)
            self._producer.flush()
            log.warning(
                "re-drove %d call(s) or deadline(s) of %d run(s): %s",
                len(requests),
                len(states),
                ", ".join(sorted(states)[:5]),
            )
        if due:
            with self._store.transaction() as conn:
                self._table.snooze(conn, due, now + self._after)
        self.redriven += len(requests)
        return len(requests)
