"""The planner's batch handler: fold each run's events through the core, then save."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import AdmissionSet, GoalSubmitted, KillSwitchSet, RollbackRequested
from agentdeck.kafka import Inbound, record_headers
from agentdeck.planner.adapters.pauses import PauseChanges, PausedAdmission
from agentdeck.planner.adapters.producers import GoalAuthenticator
from agentdeck.planner.adapters.runs import PreparedRuns, RunStates
from agentdeck.planner.core import Context, PlaybookSource, RunState, Templates
from agentdeck.planner.core.batch import Admission, acted_on, fold_batch, run_of
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.core.pause import NONE as NO_PAUSES
from agentdeck.planner.core.pause import Pauses, Waiting, scope_key
from agentdeck.planner.turns import ModelTurns
from agentdeck.privacy import Sealer
from agentdeck.runtime import Clock, Decision
from agentdeck.store import Store

__all__ = ["PlannerHandler"]


_ADMISSION = (GoalSubmitted, AdmissionSet, KillSwitchSet)
"""Events whose batch reads the pauses (and the goals waiting that they may end)."""
_SWEEP_EVERY = timedelta(seconds=5)
"""How often a planner looks for goals waiting under no pause."""

BindSubjects = Callable[[Sequence[tuple[str, str, str | None]]], Mapping[str, str]]
"""[(run id, tenant, data subject)] -> key id by run: binds runs to their subjects' keys."""


@dataclass(frozen=True)
class _Loaded:
    """What a batch reads: its relevant events (payloads in full) and their runs' states."""

    inbound: list[Inbound]
    events: list[Event]
    states: dict[str, RunState]
    pauses: Pauses
    waiting: dict[str, Waiting]


@dataclass(frozen=True)
class _Prepared:
    """What a batch saves: run states and paused admission, sealed."""

    runs: PreparedRuns
    admission: PauseChanges


class PlannerHandler:
    """Handles goals, decisions, approvals, tool results and model outcomes, a batch at a time.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`): it
    filters what was processed, and writes the states and processed ids together.
    No model is called here: a run that now waits for its model is handed to
    :class:`~agentdeck.planner.turns.ModelTurns` once its state has committed.
    """

    def __init__(
        self,
        *,
        store: Store,
        producers: GoalAuthenticator,
        playbooks: PlaybookSource,
        tools: Mapping[str, ToolInfo],
        identity: Producer,
        clock: Clock,
        model_for: Callable[[GoalSubmitted], str] | None = None,
        turns: ModelTurns | None = None,
        bind_subjects: BindSubjects | None = None,
        sealer: Sealer | None = None,
        redrive_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self._store = store
        self._bind_subjects = bind_subjects
        self._runs = RunStates(store, cipher=sealer, redrive_after=redrive_after)
        self._paused = PausedAdmission(cipher=sealer)
        self._next_sweep = datetime.min.replace(tzinfo=UTC)
        self._claims = ClaimCheck(store.payloads, cipher=sealer)
        self._producers = producers
        self._playbooks = playbooks
        self._tools = tools
        self._identity = identity
        self._clock = clock
        self._templates = Templates()
        self._model_for = model_for
        self._turns = turns

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> _Loaded:
        """The runs the batch's events belong to, and the events with their payloads in full.

        With a goal or a pause in the batch, the pauses in force too; with a
        resume or a cancellation, the goals waiting that it may end.
        """
        inbound = [i for i in batch if acted_on(i.event)]
        events = [i.event for i in inbound]
        runs = {run_of(e) for e in events if not isinstance(e, AdmissionSet)}
        # A rollback reads the runs it undoes (their calls, in the order they completed).
        runs |= {t for e in events if isinstance(e, RollbackRequested) for t in e.target_runs}
        states = self._runs.load(conn, runs)
        resolved = self._claims.resolve(conn, events)  # large tool outputs come by reference
        sweep = self._clock() >= self._next_sweep
        if not sweep and not any(isinstance(e, _ADMISSION) for e in events):
            return _Loaded(inbound, resolved, states, NO_PAUSES, {})
        resumed = [scope_key(e) for e in events if isinstance(e, AdmissionSet) and not e.paused]
        cancelled = [run_of(e) for e in events if isinstance(e, KillSwitchSet)]
        waiting = self._paused.waiting(conn, resumed, cancelled)
        if sweep:  # goals left waiting under no pause (two replicas raced) start now
            self._next_sweep = self._clock() + _SWEEP_EVERY
            waiting.update(self._paused.uncovered(conn))
        return _Loaded(inbound, resolved, states, self._paused.pauses(conn), waiting)

    def decide(self, state: _Loaded, batch: Sequence[Inbound]) -> Decision[_Prepared]:  # noqa: ARG002 -- loaded
        """Fold each run's events through the core; the new states come sealed, ready to save."""
        events, states = state.events, state.states
        admissions = [self._admission(i) for i in state.inbound]
        ctx = Context(
            now=self._clock(),
            producer=self._identity,
            playbooks=self._playbooks,
            tools=self._tools,
            templates=self._templates,
            model_for=self._model_for,
        )
        folded = fold_batch(
            events, admissions, states, ctx, pauses=state.pauses, waiting=state.waiting
        )
        outputs, changed = folded.outputs, folded.changed
        if self._bind_subjects is not None:
            # Before any output of a new run is encoded: its personal data is sealed
            # under the key of the subject its admitted goal names (one transaction).
            # A goal that waits is bound now: it is kept sealed under that key.
            self._bind_subjects(
                [
                    (run_id, event.envelope.tenant, event.data_subject)
                    for event in events
                    if isinstance(event, GoalSubmitted)
                    and ((run_id := run_of(event)) in changed or run_id in folded.held)
                ]
            )
        admission = PauseChanges(
            folded.pauses,
            {k: (w, self._paused.seal(w)) for k, w in folded.held.items()},
            folded.released,
        )
        # Sealed here, before the runtime opens its write transaction (one writer on SQLite).
        return Decision(_Prepared(self._runs.prepare(changed), admission), outputs, folded.done)

    def save(self, conn: Connection, decision: Decision[_Prepared]) -> None:
        """Write the new run states, and what the batch paused, held and released."""
        self._runs.save(conn, decision.state.runs)
        if decision.state.admission:
            self._paused.save(conn, decision.state.admission)

    def committed(self, decision: Decision[_Prepared]) -> None:
        """The runs now waiting for their model are asked, off this loop (never raises)."""
        if self._turns is not None:
            self._turns.ask(decision.state.runs.states.values())

    def _admission(self, inbound: Inbound) -> Admission:
        """How a goal record was signed (None for the other events)."""
        if not isinstance(inbound.event, GoalSubmitted):
            return None
        value = inbound.message.value() or b""
        return self._producers.authenticate(value, record_headers(inbound.message))
