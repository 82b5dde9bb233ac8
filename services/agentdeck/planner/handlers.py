"""The planner's batch handler: fold each run's events through the core, then save."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import GoalSubmitted, KillSwitchSet
from agentdeck.kafka import Inbound, record_headers
from agentdeck.planner.adapters.producers import GoalAuthenticator
from agentdeck.planner.adapters.runs import PreparedRuns, RunStates
from agentdeck.planner.core import RELEVANT, Context, PlaybookSource, RunState, Templates, decide
from agentdeck.planner.core.admission import Admitted, Refused
from agentdeck.planner.core.cancel import cancelled_run_of
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.turns import ModelTurns
from agentdeck.privacy import Sealer
from agentdeck.runtime import Clock, Decision
from agentdeck.store import Store

__all__ = ["PlannerHandler"]


def _run_of(event: Event) -> str:
    return cancelled_run_of(event) or event.envelope.run_id or event.envelope.event_id


def _acted_on(event: Event) -> bool:
    """Whether the planner acts on ``event``: of the control topic, only a run's cancellation."""
    if isinstance(event, KillSwitchSet):
        return cancelled_run_of(event) is not None
    return isinstance(event, RELEVANT)


Admission = Admitted | Refused | None
BindSubjects = Callable[[Sequence[tuple[str, str, str | None]]], Mapping[str, str]]
"""[(run id, tenant, data subject)] -> key id by run: binds runs to their subjects' keys."""


@dataclass(frozen=True)
class _Loaded:
    """What a batch reads: its relevant events (payloads in full) and their runs' states."""

    inbound: list[Inbound]
    events: list[Event]
    states: dict[str, RunState]


class PlannerHandler:
    """Handles goals, decisions, approvals and tool results, a batch at a time.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`): it
    filters what was processed, and writes the states and processed ids together.
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
    ) -> None:
        self._store = store
        self._bind_subjects = bind_subjects
        self._runs = RunStates(store, cipher=sealer)
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
        """The runs the batch's events belong to, and the events with their payloads in full."""
        inbound = [i for i in batch if _acted_on(i.event)]
        events = [i.event for i in inbound]
        states = self._runs.load(conn, {_run_of(e) for e in events})
        resolved = self._claims.resolve(conn, events)  # large tool outputs come by reference
        return _Loaded(inbound, resolved, states)

    def decide(self, state: _Loaded, batch: Sequence[Inbound]) -> Decision[PreparedRuns]:  # noqa: ARG002 -- loaded
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
        outputs, changed, done = self._fold(events, admissions, states, ctx)
        if self._bind_subjects is not None:
            # Before any output of a new run is encoded: its personal data is sealed
            # under the key of the subject its admitted goal names (one transaction).
            self._bind_subjects(
                [
                    (run_id, event.envelope.tenant, event.data_subject)
                    for event in events
                    if isinstance(event, GoalSubmitted) and (run_id := _run_of(event)) in changed
                ]
            )
        if self._turns is not None:
            for run_id, run in list(changed.items()):
                changed[run_id], more = self._turns.advance(run, ctx)
                outputs += more
        # Sealed here, before the runtime opens its write transaction (one writer on SQLite).
        return Decision(self._runs.prepare(changed), outputs, done)

    def save(self, conn: Connection, decision: Decision[PreparedRuns]) -> None:
        """Write the new run states."""
        self._runs.save(conn, decision.state)

    def _admission(self, inbound: Inbound) -> Admission:
        """How a goal record was signed (None for the other events)."""
        if not isinstance(inbound.event, GoalSubmitted):
            return None
        value = inbound.message.value() or b""
        return self._producers.authenticate(value, record_headers(inbound.message))

    @staticmethod
    def _fold(
        events: list[Event],
        admissions: list[Admission],
        states: dict[str, RunState],
        ctx: Context,
    ) -> tuple[list[Event], dict[str, RunState], list[str]]:
        outputs: list[Event] = []
        changed: dict[str, RunState] = {}
        refused: set[str] = set()
        for event, admission in zip(events, admissions, strict=True):
            event_id = event.envelope.event_id
            run_id = _run_of(event)
            own = ctx if admission is None else dataclasses.replace(ctx, admission=admission)
            state, out = decide(states.get(run_id), event, own)
            outputs += out
            if admission is not None and state is None:
                refused.add(event_id)
                continue
            refused.discard(event_id)
            if state is not None and state is not states.get(run_id):
                states[run_id] = changed[run_id] = state
        # A refused goal is not marked processed, so a forged record that copies
        # a goal's id can never keep the genuine, signed goal from starting.
        done = [e.envelope.event_id for e in events if e.envelope.event_id not in refused]
        return outputs, changed, done
