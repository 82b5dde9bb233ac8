"""Replaying a run's planner decisions from its recorded events, and checking them.

The planner's inputs (goal, decisions, approvals, tool results, model answers)
and its clock readings (the times stamped on its outputs) are all in the log,
so folding the inputs through ``decide`` must reproduce the recorded outputs,
id for id and field for field. Replay calls no model, no tool and no network:
model answers are the recorded ``LlmCallRecorded`` events, and failed attempts
(with the backoff that was drawn) the recorded ``LlmCallFailed`` events.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel

from agentdeck.contracts import Event, Producer
from agentdeck.contracts import models as m
from agentdeck.planner.core import (
    MODEL_OUTCOMES,
    RELEVANT,
    Context,
    Playbook,
    PlaybookSource,
    RunPhase,
    RunState,
    Templates,
    decide,
)
from agentdeck.planner.core.admission import recorded_admission
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.core.llm import answer_id, failure_id
from agentdeck.planner.core.pause import Pause, Pauses, waiting_cancelled

__all__ = ["READS", "Divergence", "ReplayResult", "replay_run", "replayed_targets"]

E = TypeVar("E", bound=Event)

_OUTPUTS = (
    m.RunQueued,
    m.RunStarted,
    m.RollbackReported,
    m.PlanProposed,
    m.ToolCallRequested,
    m.RunCompleted,
    m.RunFailed,
    m.RunCancelled,
)

# Membership by exact type (the event classes are never subclassed): an isinstance check
# against a tuple of models that fails goes through their metaclass for each.
_OUTPUT_TYPES: frozenset[type[Event]] = frozenset(_OUTPUTS)
_MODEL_OUTCOMES: frozenset[type[Event]] = frozenset(MODEL_OUTCOMES)
_FOLDED: frozenset[type[Event]] = frozenset(RELEVANT) - _MODEL_OUTCOMES
"""The inputs folded in log order (a model's outcomes are folded when the run waits for them)."""

# StepScheduled, which runs recorded before the event model v3 carry next to each
# ToolCallRequested, is not an output any more and is not compared: the request
# carries the same tool and attempt.

READS: frozenset[type[Event]] = frozenset({*_OUTPUTS, *RELEVANT})
"""The event types :func:`replay_run` reads; it ignores every other (no need to decode them)."""


@dataclass(frozen=True)
class Divergence:
    """The first input whose decision differs from what was recorded."""

    input_event: Event
    expected: list[Event]
    actual: list[Event]

    def describe(self) -> str:
        """One paragraph saying where replay and record part ways."""
        want = {e.envelope.event_id: type(e).__name__ for e in self.expected}
        got = {e.envelope.event_id: type(e).__name__ for e in self.actual}
        return (
            f"after {type(self.input_event).__name__} {self.input_event.envelope.event_id} "
            f"(step {self.input_event.envelope.step_id or '-'}): recorded "
            f"{sorted(want.values())}, replay decided {sorted(got.values())}"
            + ("" if want.keys() != got.keys() else " (same ids, different content)")
        )


@dataclass(frozen=True)
class ReplayResult:
    """The rebuilt state, and the first divergence if any."""

    state: RunState | None
    decisions: int
    divergence: Divergence | None


def _comparable(event: Event) -> dict[str, object]:
    data = event.model_dump(mode="json")
    data["envelope"].pop("occurred_at", None)
    data["envelope"].pop("producer", None)
    # Recorded under an earlier schema version, decided again under the current
    # one: the fields are compared, the writer's version number is not.
    data["envelope"].pop("schema_version", None)
    return data


def replay_run(
    events: Sequence[Event],
    *,
    playbooks: PlaybookSource,
    tools: Mapping[str, ToolInfo],
    templates: Templates | None = None,
    targets: Mapping[str, RunState] | None = None,
) -> ReplayResult:
    """Fold ``events`` (one run, in log order) through the planner and compare its outputs.

    ``templates`` may be shared by the replays of many runs (default: a new one).
    ``targets``: for a rollback run, the states of the runs it rolls back (their
    own replays' states), which its start read.
    """
    replayer = _Replayer(events, playbooks, tools, templates or Templates(), targets or {})
    return replayer.run()


def replayed_targets(
    events: Sequence[Event],
    load: Callable[[str], Sequence[Event]],
    *,
    playbooks: PlaybookSource,
    tools: Mapping[str, ToolInfo],
    templates: Templates | None = None,
) -> dict[str, RunState]:
    """For a rollback run's ``events``: the runs it rolls back, each rebuilt by its own replay.

    ``load`` reads a run's events. Runs that ended before the rollback started
    end in the state the planner read then. Empty for any other run.
    """
    targets: dict[str, RunState] = {}
    for request in (e for e in events if type(e) is m.RollbackRequested):
        for run_id in request.target_runs:
            loaded = load(run_id)
            state = (
                replay_run(loaded, playbooks=playbooks, tools=tools, templates=templates).state
                if loaded
                else None
            )
            if state is not None:
                targets[run_id] = state
    return targets


def _key(event: Event) -> str:
    return json.dumps(_comparable(event), sort_keys=True)


_UNCOMPARED = frozenset({"occurred_at", "producer", "schema_version"})
"""Envelope fields :func:`_comparable` leaves out."""
_BLANKED = dict.fromkeys(_UNCOMPARED)


def _agree(produced: list[Event], recorded: list[Event]) -> bool:
    """Whether replay decided what was recorded: the same events, in any order.

    Pairs the events by id and compares them field by field, strictly (same
    types, same values), which implies equal :func:`_key` s; anything that
    does not pair up so is settled by comparing the keys themselves.
    """
    if len(produced) == len(recorded):
        if len(produced) < 2:  # most decisions: nothing, or one event (ids compared with it)
            if not produced or _same_event(produced[0], recorded[0]):
                return True
        else:
            by_id = {e.envelope.event_id: e for e in recorded}
            if all(_same_event(e, by_id.pop(e.envelope.event_id, None)) for e in produced):
                return True
    return sorted(map(_key, produced)) == sorted(map(_key, recorded))


def _same_event(event: Event, other: Event | None) -> bool:
    if type(event) is not type(other):
        return False
    # The envelope's compared fields are all text or null, for which equal is the same JSON:
    # compared as one dict, without a call per field.
    envelope = {**event.envelope.__dict__, **_BLANKED}
    if envelope != {**other.envelope.__dict__, **_BLANKED}:
        return False
    return _same_fields(event.__dict__, other.__dict__, _ENVELOPE)


_ENVELOPE = frozenset({"envelope"})
_SCALARS = frozenset({str, int, bool, bytes, type(None)})


def _same_fields(mine: dict[str, Any], theirs: dict[str, Any], skip: frozenset[str]) -> bool:
    """:func:`_same` for every field of two records of one type but those in ``skip``."""
    for name, value in mine.items():
        other = theirs[name]
        kind = type(value)
        if kind is not type(other):
            if name not in skip:
                return False
        elif kind in _SCALARS:  # most fields: settled without a call
            if value != other and name not in skip:
                return False
        elif name not in skip and not _same(value, other):
            return False
    return True


def _same(value: Any, other: Any) -> bool:
    """Equal and of the same type all the way down, so their JSON forms are equal too."""
    kind = type(value)
    if kind is not type(other):
        return False
    if kind in _SCALARS:
        return bool(value == other)
    if isinstance(value, BaseModel):
        return _same_fields(value.__dict__, other.__dict__, frozenset())
    if kind is tuple or kind is list:
        return len(value) == len(other) and all(map(_same, value, other))
    if kind is dict:
        return value.keys() == other.keys() and all(_same(v, other[k]) for k, v in value.items())
    if isinstance(value, datetime):  # the same instant in another zone has another ISO form
        return bool(value == other) and value.utcoffset() == other.utcoffset()
    if kind is float:  # 0.0 == -0.0
        return repr(value) == repr(other)
    return bool(value == other)


def _first(events: list[Event], kind: type[E]) -> E | None:
    """The first of ``events`` of exactly ``kind`` (a loop: a generator per decision costs)."""
    for event in events:
        if type(event) is kind:
            return event
    return None


_REPLAY = Producer(service="planner", version="replay")
"""The producer of a decision that recorded no output."""
_NO_TARGETS: Mapping[str, RunState] = MappingProxyType({})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Pinned:
    """The playbook version the recorded run was pinned to, whatever is active now.

    A run is pinned at its start; a newer version published since must not
    change how an old run replays.
    """

    source: PlaybookSource
    started: m.RunStarted | None

    def get(self, name: str, version: str | None) -> Playbook:
        run = self.started
        if version is None and run is not None and run.playbook == name:
            version = run.pinned_version
        return self.source.get(name, version)


class _Replayer:
    def __init__(
        self,
        events: Sequence[Event],
        playbooks: PlaybookSource,
        tools: Mapping[str, ToolInfo],
        templates: Templates,
        targets: Mapping[str, RunState],
    ) -> None:
        self.events = events
        self.targets = targets
        started = next((e for e in events if type(e) is m.RunStarted), None)
        playbook_run = started if started and started.planner is m.PlannerKind.PLAYBOOK else None
        self.playbooks = _Pinned(playbooks, playbook_run)
        self.tools, self.templates = tools, templates
        self.caused: dict[str, list[Event]] = {}
        for out in (e for e in events if type(e) in _OUTPUT_TYPES):
            self.caused.setdefault(out.envelope.causation_id or "", []).append(out)
        self.models = {e.envelope.event_id: e for e in events if type(e) in _MODEL_OUTCOMES}
        model = started.pinned_version if started else ""
        self.waited: tuple[m.GoalSubmitted, m.RunQueued] | None = None
        self.base = Context(  # each decision's: with its clock reading, producer, admission
            now=_EPOCH,
            producer=_REPLAY,
            playbooks=self.playbooks,
            tools=self.tools,
            templates=self.templates,
            # Not a method of this replayer: the context it holds would hold it, a cycle that
            # keeps a whole run alive until the next collection.
            model_for=lambda _goal: model,
            targets=_NO_TARGETS,
        )

    def run(self) -> ReplayResult:
        state: RunState | None = None
        decisions = 0
        # A model's outcomes are folded when the run waits for them (_model_turns).
        inputs = sorted(
            (e for e in self.events if type(e) in _FOLDED), key=lambda e: e.envelope.occurred_at
        )
        for event in inputs:
            state, divergence = self._step(state, event)
            decisions += 1
            if divergence is None:
                state, divergence = self._model_turns(state)
            if divergence is not None:
                return ReplayResult(state, decisions, divergence)
        return ReplayResult(state, decisions, None)

    def _step(
        self, state: RunState | None, event: Event
    ) -> tuple[RunState | None, Divergence | None]:
        recorded = self.caused.get(event.envelope.event_id, [])
        queued = _first(recorded, m.RunQueued)
        held: list[Event] = []
        if queued is not None and type(event) is m.GoalSubmitted:
            # The goal waited for its scope to be resumed: decided under the recorded
            # pause first, then (if it was resumed) as it would have been on arrival.
            recorded = [e for e in recorded if e is not queued]
            held = self._held(event, queued)
            if not recorded:
                return state, self._compared(event, [queued], held)
        elif state is None and self.waited is not None and type(event) is m.KillSwitchSet:
            goal, waited = self.waited  # cancelled while it waited: it never started
            ctx = self._context(event, recorded)
            ended = waiting_cancelled(
                goal, waited.envelope.agent or "", event, producer=ctx.producer, now=ctx.now
            )
            return state, self._compared(event, recorded, [ended])
        state, produced = decide(state, event, self._context(event, recorded))
        queued_part = [queued] if queued is not None else []
        return state, self._compared(event, [*queued_part, *recorded], [*held, *produced])

    def _held(self, goal: m.GoalSubmitted, queued: m.RunQueued) -> list[Event]:
        """What the goal decided under the pause ``queued`` records."""
        at = queued.envelope.occurred_at
        pause = Pause(queued.scope, queued.target, queued.paused_by, "", at)
        ctx = dataclasses.replace(self._context(goal, [queued]), pauses=Pauses({pause.key: pause}))
        self.waited = (goal, queued)
        return decide(None, goal, ctx)[1]

    @staticmethod
    def _compared(event: Event, recorded: list[Event], produced: list[Event]) -> Divergence | None:
        return None if _agree(produced, recorded) else Divergence(event, recorded, produced)

    def _context(self, cause: Event, recorded: list[Event]) -> Context:
        if not recorded:  # nothing was decided: no clock reading or admission to take over
            now, producer, admission = cause.envelope.occurred_at, _REPLAY, None
        else:
            first = recorded[0].envelope
            now, producer, admission = first.occurred_at, first.producer, None
            started = _first(recorded, m.RunStarted)
            if started is not None and started.principal is not None:
                admission = recorded_admission(started.principal)
        if type(cause) is m.RollbackRequested:
            return self.base.replaced(
                now=now, producer=producer, admission=admission, targets=self.targets
            )
        return self.base.replaced(now=now, producer=producer, admission=admission)

    def _model_turns(self, state: RunState | None) -> tuple[RunState | None, Divergence | None]:
        """Fold the recorded outcomes of the turns the run waits for: failed attempts, then
        the answer."""
        while (
            state is not None
            and state.phase is RunPhase.RUNNING
            and state.llm is not None
            and state.llm.awaiting_model
        ):
            conv, run_id = state.llm, state.run_id
            failed = self.models.get(failure_id(run_id, conv.turn, conv.failed_attempts + 1))
            outcome = failed or self.models.get(answer_id(run_id, conv.turn))
            if outcome is None:
                return state, None  # the log ends while the run waits for its model
            state, divergence = self._step(state, outcome)
            if divergence is not None:
                return state, divergence
        return state, None
