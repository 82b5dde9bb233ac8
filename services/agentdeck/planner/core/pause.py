"""Pausing new runs: while an operator pauses a scope, its admitted goals wait instead of starting.

An operator pauses the whole platform, a tenant or an agent (``agentdeck
pause``, or ``drain``, which then waits for the running work to end). A goal
admitted meanwhile gets ``RunQueued`` and waits; runs already started go on.
Resuming the scope starts the goals that waited, in the order they arrived,
unless another pause still covers them. A waiting goal starts exactly as it
would have on arrival (its RunStarted is caused by the goal), so replay needs
to know nothing of the pause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.planner.core.admission import Admitted

__all__ = [
    "ANY_TARGET",
    "NONE",
    "Pause",
    "Pauses",
    "ScopeKey",
    "Waiting",
    "in_scope",
    "run_queued",
    "scope_key",
    "waiting_cancelled",
]

ANY_TARGET = "*"
"""The target of a GLOBAL pause."""

ScopeKey = tuple[m.AdmissionScope, str]
"""(scope, target) of a pause."""


@dataclass(frozen=True)
class Pause:
    """A scope whose new runs wait, and who paused it."""

    scope: m.AdmissionScope
    target: str
    set_by: str
    reason: str
    set_at: datetime

    @property
    def key(self) -> ScopeKey:
        """(scope, target)."""
        return self.scope, self.target


def in_scope(key: ScopeKey, tenant: str, agent: str) -> bool:
    """Whether a new run of ``agent`` for ``tenant`` falls in the scope ``key``."""
    scope, target = key
    if scope is m.AdmissionScope.GLOBAL:
        return True
    return target == (tenant if scope is m.AdmissionScope.TENANT else agent)


@dataclass(frozen=True)
class Waiting:
    """A goal that waits for its scope to be resumed, as it was admitted."""

    goal: m.GoalSubmitted
    admission: Admitted
    agent: str
    held_at: datetime

    @property
    def run_id(self) -> str:
        """The run the goal starts."""
        env = self.goal.envelope
        return env.run_id or env.event_id


@dataclass(frozen=True)
class Pauses:
    """The pauses in force, by scope and target."""

    by_key: Mapping[ScopeKey, Pause]

    def covering(self, tenant: str, agent: str) -> Pause | None:
        """The pause that holds a new run of ``agent`` for ``tenant`` (broadest first), if any."""
        for scope, target in (
            (m.AdmissionScope.GLOBAL, ANY_TARGET),
            (m.AdmissionScope.TENANT, tenant),
            (m.AdmissionScope.AGENT, agent),
        ):
            pause = self.by_key.get((scope, target))
            if pause is not None:
                return pause
        return None

    def applied(self, event: m.AdmissionSet) -> Pauses:
        """The pauses after an operator's ``event``."""
        key = scope_key(event)
        by_key = {k: v for k, v in self.by_key.items() if k != key}
        if event.paused:
            by_key[key] = Pause(
                event.scope, key[1], event.set_by, event.reason, event.envelope.occurred_at
            )
        return Pauses(by_key)


NONE = Pauses({})
"""No pause in force."""


def scope_key(event: m.AdmissionSet) -> ScopeKey:
    """The (scope, target) ``event`` pauses or resumes (any target of GLOBAL is ``*``)."""
    target = ANY_TARGET if event.scope is m.AdmissionScope.GLOBAL else event.target
    return event.scope, target


def run_queued(
    goal: m.GoalSubmitted, agent: str, pause: Pause, *, producer: m.Producer, now: datetime
) -> m.RunQueued:
    """The event that says the goal's run waits under ``pause``."""
    env = goal.envelope
    run_id = env.run_id or env.event_id
    return m.RunQueued(
        envelope=envelope_for(
            m.RunQueued,
            event_id=deterministic_id(env.event_id, m.RunQueued.EVENT_TYPE),
            tenant=env.tenant,
            producer=producer,
            occurred_at=now,
            run_id=run_id,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
            agent=agent,
            traceparent=env.traceparent,
        ),
        scope=pause.scope,
        target=pause.target,
        paused_by=pause.set_by,
    )


def waiting_cancelled(
    goal: m.GoalSubmitted,
    agent: str,
    switch: m.KillSwitchSet,
    *,
    producer: m.Producer,
    now: datetime,
) -> m.RunCancelled:
    """The end of a run cancelled (by its RUN switch) while its goal waited: it never starts."""
    env = goal.envelope
    return m.RunCancelled(
        envelope=envelope_for(
            m.RunCancelled,
            event_id=deterministic_id(switch.envelope.event_id, m.RunCancelled.EVENT_TYPE, "", ""),
            tenant=env.tenant,
            producer=producer,
            occurred_at=now,
            run_id=env.run_id or env.event_id,
            correlation_id=env.correlation_id,
            causation_id=switch.envelope.event_id,
            agent=agent,
            traceparent=switch.envelope.traceparent or env.traceparent,
        ),
        reason=switch.reason,
        cancelled_by=switch.set_by,
    )
