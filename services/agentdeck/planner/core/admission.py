"""Admitting a goal: who produced it, and whether it asks only for what that producer may.

The signature is checked at the edge (``adapters/producers.py``); what a
verified producer may ask for is decided here, purely: its tenants, its
playbooks, whether the model may plan for it, the agent the platform binds
the run to, and ceilings on the limits. A refused goal starts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.errors import ErrorCategory

__all__ = [
    "ANY",
    "Admitted",
    "Ceilings",
    "Grant",
    "Refused",
    "check_agent",
    "check_grant",
    "goal_rejected",
    "recorded_admission",
]

ANY = "*"
"""In a grant's list of tenants, agents or playbooks: every one."""


class Ceilings(BaseModel):
    """The most a producer's goals may ask for; None leaves that limit to the goal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_steps: int | None = None
    max_tool_calls: int | None = None
    max_tokens: int | None = None
    max_cost_micros: int | None = None
    max_repeats: int | None = None
    max_run_seconds: int | None = None
    """Longest deadline after the goal's time; a goal without a deadline is refused."""


class Grant(BaseModel):
    """What one registered producer may start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: tuple[str, ...]
    agents: tuple[str, ...]
    """Agents its runs may act as (the agent itself is the playbook's, never the goal's)."""
    playbooks: tuple[str, ...] = ()
    model_planned: bool = False
    """Whether its goals may name no playbook and be planned by the model."""
    ceilings: Ceilings = Ceilings()


@dataclass(frozen=True)
class Admitted:
    """A goal whose signature verified with a registered producer's key."""

    producer_id: str
    key_id: str
    grant: Grant
    registry_version: str


@dataclass(frozen=True)
class Refused:
    """A goal the planner will not start, with a machine-readable reason."""

    code: str
    message: str
    remediation: tuple[str, ...]
    registry_version: str
    key_id: str | None = None
    producer_id: str | None = None


def recorded_admission(principal: m.Principal) -> Admitted:
    """For replay: the admission a recorded RunStarted shows.

    The signature was checked when the goal arrived (its headers are not in
    the archive); the producer it named is an input recorded in the log.
    """
    anything = Grant(tenants=(ANY,), agents=(ANY,), playbooks=(ANY,), model_planned=True)
    return Admitted(principal.producer, "recorded", anything, "recorded")


def _granted(values: tuple[str, ...], value: str) -> bool:
    return ANY in values or value in values


def _refuse(admitted: Admitted, code: str, message: str, fix: str) -> Refused:
    return Refused(
        code,
        f"producer {admitted.producer_id}: {message}",
        (fix, "or have the producer registry extend this producer's grant"),
        admitted.registry_version,
        admitted.key_id,
        admitted.producer_id,
    )


def _over_ceiling(limits: m.RunLimits, ceilings: Ceilings, at: m.Envelope) -> str | None:
    for name in ("max_steps", "max_tool_calls", "max_tokens", "max_cost_micros", "max_repeats"):
        ceiling = getattr(ceilings, name)
        if ceiling is not None and getattr(limits, name) > ceiling:
            return f"{name} {getattr(limits, name)} is above its ceiling {ceiling}"
    if ceilings.max_run_seconds is None:
        return None
    latest = at.occurred_at + timedelta(seconds=ceilings.max_run_seconds)
    if limits.deadline is None or limits.deadline > latest:
        return f"the deadline must be at most {ceilings.max_run_seconds}s after the goal"
    return None


def check_grant(goal: m.GoalSubmitted, admitted: Admitted) -> Refused | None:
    """Why ``goal`` is outside its producer's grant (tenant, playbook, limits); None if it is not.

    Checked before anything of the goal is looked at, so a goal outside its
    grant cannot even fail a run.
    """
    grant, env = admitted.grant, goal.envelope
    if not _granted(grant.tenants, env.tenant):
        return _refuse(
            admitted, "tenant_not_granted", f"tenant {env.tenant!r}", "use a granted tenant"
        )
    if goal.playbook is None and not grant.model_planned:
        return _refuse(
            admitted, "model_planning_not_granted", "goals must name a playbook", "name a playbook"
        )
    if goal.playbook is not None and not _granted(grant.playbooks, goal.playbook):
        return _refuse(
            admitted,
            "playbook_not_granted",
            f"playbook {goal.playbook!r}",
            "name a granted playbook",
        )
    over = _over_ceiling(goal.limits, grant.ceilings, env)
    if over is not None:
        return _refuse(admitted, "limits_above_grant", over, "ask for lower limits")
    return None


def check_agent(goal: m.GoalSubmitted, admitted: Admitted, agent: str) -> Refused | None:
    """Why the run may not act as ``agent`` (the platform's choice); None if it may.

    The goal may name the agent only to confirm the platform's choice, never to pick one.
    """
    claimed = goal.envelope.agent
    if claimed is not None and claimed != agent:
        return _refuse(
            admitted,
            "agent_mismatch",
            f"the goal asks for agent {claimed!r}, but this run acts as {agent!r}",
            "leave the envelope's agent empty: the playbook decides the agent",
        )
    if not _granted(admitted.grant.agents, agent):
        return _refuse(admitted, "agent_not_granted", f"agent {agent!r}", "use a granted playbook")
    return None


def goal_rejected(
    goal: m.GoalSubmitted, refused: Refused, *, producer: m.Producer, now: datetime
) -> m.GoalRejected:
    """The event that records a refusal; it belongs to no run, so it can touch none."""
    env = goal.envelope
    return m.GoalRejected(
        envelope=envelope_for(
            m.GoalRejected,
            event_id=deterministic_id(env.event_id, m.GoalRejected.EVENT_TYPE),
            tenant=env.tenant,
            producer=producer,
            occurred_at=now,
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
            traceparent=env.traceparent,
        ),
        goal_event_id=env.event_id,
        claimed_run_id=env.run_id,
        key_id=refused.key_id,
        producer_id=refused.producer_id,
        registry_version=refused.registry_version,
        failure=m.ErrorInfo(
            capability="planner.admission",
            code=refused.code,
            category=ErrorCategory.POLICY,
            retryable=False,
            message=refused.message,
            remediation=refused.remediation,
        ),
    )
