"""A batch of the planner's events folded in order: runs moved, goals held, waiting goals started.

Pure, like :func:`~agentdeck.planner.core.decide`: the handler loads the runs'
states, the pauses in force and the goals waiting in the scopes the batch
resumes, and saves what this returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.planner.core.admission import Admitted, Refused
from agentdeck.planner.core.cancel import cancelled_run_of
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.decide import RELEVANT, decide
from agentdeck.planner.core.pause import (
    Pause,
    Pauses,
    ScopeKey,
    Waiting,
    in_scope,
    scope_key,
    waiting_cancelled,
)
from agentdeck.planner.core.state import RunState

__all__ = ["Admission", "Folded", "acted_on", "fold_batch", "run_of"]

Admission = Admitted | Refused | None
"""How a goal's record was signed (None for the other events)."""


def run_of(event: Event) -> str:
    """The run ``event`` belongs to (a goal's is the run it starts)."""
    return cancelled_run_of(event) or event.envelope.run_id or event.envelope.event_id


def acted_on(event: Event) -> bool:
    """Whether the planner acts on ``event``: of the control topic, cancellations and pauses."""
    if isinstance(event, m.KillSwitchSet):
        return cancelled_run_of(event) is not None
    return isinstance(event, (*RELEVANT, m.AdmissionSet))


@dataclass
class Folded:
    """What a batch decided.

    Attributes:
        outputs: The events to publish.
        changed: The runs whose state changed, by id.
        done: The ids of the events the batch processed (a refused goal is not).
        pauses: The pauses set (a Pause) or lifted (None) by scope.
        held: The goals that began to wait, by run id.
        released: The runs whose goal stopped waiting (started, or cancelled).
    """

    outputs: list[Event] = field(default_factory=list)
    changed: dict[str, RunState] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    pauses: dict[ScopeKey, Pause | None] = field(default_factory=dict)
    held: dict[str, Waiting] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)


def fold_batch(
    events: Sequence[Event],
    admissions: Sequence[Admission],
    states: dict[str, RunState],
    ctx: Context,
    *,
    pauses: Pauses,
    waiting: dict[str, Waiting],
) -> Folded:
    """Fold ``events`` in order; ``states`` and ``waiting`` are updated as the batch goes."""
    return _Batch(states, ctx, pauses, waiting).fold(events, admissions)


class _Batch:
    def __init__(
        self, states: dict[str, RunState], ctx: Context, pauses: Pauses, waiting: dict[str, Waiting]
    ) -> None:
        self.states, self.ctx, self.pauses, self.waiting = states, ctx, pauses, waiting
        self.out = Folded()

    def fold(self, events: Sequence[Event], admissions: Sequence[Admission]) -> Folded:
        self._start(lambda _: True)  # goals loaded waiting that no pause holds any more
        refused: set[str] = set()
        for event, admission in zip(events, admissions, strict=True):
            event_id = event.envelope.event_id
            if self._refused(event, admission):
                refused.add(event_id)
            else:
                refused.discard(event_id)
        # A refused goal is not marked processed, so a forged record that copies
        # a goal's id can never keep the genuine, signed goal from starting.
        self.out.done = [e.envelope.event_id for e in events if e.envelope.event_id not in refused]
        return self.out

    def _refused(self, event: Event, admission: Admission) -> bool:
        """Fold one event; whether it was a goal refused."""
        if isinstance(event, m.AdmissionSet):
            self._set(event)
            return False
        run_id = run_of(event)
        if isinstance(event, m.KillSwitchSet) and run_id in self.waiting:
            self._cancel_waiting(self.waiting.pop(run_id), event)
            return False
        own = dataclasses.replace(self.ctx, admission=admission, pauses=self.pauses)
        if isinstance(event, m.RollbackRequested):  # it reads the runs it undoes
            targets = {t: self.states[t] for t in event.target_runs if t in self.states}
            own = dataclasses.replace(own, targets=targets)
        state, out = decide(self.states.get(run_id), event, own)
        self.out.outputs += out
        if admission is not None and state is None:
            queued = next((o for o in out if isinstance(o, m.RunQueued)), None)
            goal = event if isinstance(event, m.GoalSubmitted) else None
            if queued is None or goal is None or not isinstance(admission, Admitted):
                return True
            held = Waiting(goal, admission, queued.envelope.agent or "", self.ctx.now)
            self.waiting[run_id] = self.out.held[run_id] = held
            self.out.released.discard(run_id)
            return False
        self._changed(run_id, state)
        return False

    def _changed(self, run_id: str, state: RunState | None) -> None:
        if state is not None and state is not self.states.get(run_id):
            self.states[run_id] = self.out.changed[run_id] = state

    def _set(self, event: m.AdmissionSet) -> None:
        """Apply a pause or a resume; a resume starts the goals it no longer holds, oldest first."""
        self.pauses = self.pauses.applied(event)
        key = scope_key(event)
        self.out.pauses[key] = self.pauses.by_key.get(key)
        if not event.paused:
            self._start(lambda w: in_scope(key, w.goal.envelope.tenant, w.agent))

    def _start(self, among: Callable[[Waiting], bool]) -> None:
        """Start the waiting goals ``among`` that no pause holds, oldest first."""
        ready = sorted(
            (
                w
                for w in self.waiting.values()
                if among(w) and self.pauses.covering(w.goal.envelope.tenant, w.agent) is None
            ),
            key=lambda w: (w.held_at, w.run_id),
        )
        for waiting in ready:
            own = dataclasses.replace(self.ctx, admission=waiting.admission, pauses=self.pauses)
            state, out = decide(None, waiting.goal, own)
            self.out.outputs += out
            self._release(waiting.run_id)
            self._changed(waiting.run_id, state)

    def _cancel_waiting(self, waiting: Waiting, switch: m.KillSwitchSet) -> None:
        ctx = self.ctx
        self.out.outputs.append(
            waiting_cancelled(
                waiting.goal, waiting.agent, switch, producer=ctx.producer, now=ctx.now
            )
        )
        self._release(waiting.run_id)

    def _release(self, run_id: str) -> None:
        self.waiting.pop(run_id, None)
        self.out.released.add(run_id)
        self.out.held.pop(run_id, None)
