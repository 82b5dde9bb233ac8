"""Kill switches: the latest state per (scope, target), and which one stops a call.

The rules every service that enforces switches must agree on (the
policy-checker when it decides, the executor before it runs a call, the
approval service before it grants), so they live here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from agentdeck.contracts.models import KillSwitchScope, KillSwitchSet

__all__ = [
    "GLOBAL_TARGET",
    "KILL_SWITCH_ENGAGED",
    "RUN_CANCELLED",
    "RUN_CANCELLED_POLICY",
    "Switch",
    "SwitchKey",
    "applied",
    "covering",
    "covering_keys",
    "refusal_code",
    "stopped_message",
    "switch_key",
    "switch_of",
]

GLOBAL_TARGET = "*"
"""Target of the global switch when the event names none."""

KILL_SWITCH_ENGAGED = "kill_switch_engaged"
"""The code of a refusal because an engaged switch other than a RUN switch covers the call."""

RUN_CANCELLED = "run_cancelled"
"""The code of a refusal because the call's run was cancelled (an engaged RUN switch).

Whoever refuses a call of a cancelled run (the policy-checker as the matched
policy of its denial, the executor in its failure, the approval service in
its 409) says so with this code, so the planner tells a cancelled run's
refusals from a failure that should fail the run.
"""

RUN_CANCELLED_POLICY = "platform.run-cancelled"
"""The policy the policy-checker's denial of a call of a cancelled run names as matched."""

_ORDER = (
    KillSwitchScope.GLOBAL,
    KillSwitchScope.TENANT,
    KillSwitchScope.AGENT,
    KillSwitchScope.TOOL,
    KillSwitchScope.RUN,
)


@dataclass(frozen=True)
class Switch:
    """The latest state of one kill switch.

    Attributes:
        scope: Breadth of the switch.
        target: The tenant, agent or tool it names; ``GLOBAL_TARGET`` for the global one.
        engaged: True while it stops calls.
        set_by: The operator who set it.
        reason: Why.
        set_at: When the operator set it (the event's ``occurred_at``).
    """

    scope: KillSwitchScope
    target: str
    engaged: bool
    set_by: str
    reason: str
    set_at: datetime


class SwitchKey(NamedTuple):
    """Identity of a switch: one state per scope and target."""

    scope: KillSwitchScope
    target: str


def switch_key(scope: KillSwitchScope, target: str) -> SwitchKey:
    """The switch an event for ``scope`` and ``target`` sets (the global one has no target)."""
    return SwitchKey(scope, GLOBAL_TARGET if scope is KillSwitchScope.GLOBAL else target)


def switch_of(event: KillSwitchSet) -> Switch:
    """The switch state an event sets."""
    key = switch_key(event.scope, event.target)
    return Switch(
        scope=key.scope,
        target=key.target,
        engaged=event.engaged,
        set_by=event.set_by,
        reason=event.reason,
        set_at=event.envelope.occurred_at,
    )


def applied(current: Switch | None, event: KillSwitchSet) -> Switch | None:
    """The new state after ``event``, or None if ``current`` is newer (a late or replayed event)."""
    new = switch_of(event)
    if current is not None and current.set_at > new.set_at:
        return None
    return new


def covering_keys(
    *, tenant: str, agent: str | None, tool: str, run: str | None
) -> tuple[SwitchKey, ...]:
    """The switches that could stop a call of ``tool`` by ``agent`` for ``tenant`` in ``run``.

    Broadest first. A call with no agent (or no run) is covered by no AGENT (RUN) switch.
    """
    keys = [
        SwitchKey(KillSwitchScope.GLOBAL, GLOBAL_TARGET),
        SwitchKey(KillSwitchScope.TENANT, tenant),
        SwitchKey(KillSwitchScope.AGENT, agent) if agent is not None else None,
        SwitchKey(KillSwitchScope.TOOL, tool),
        SwitchKey(KillSwitchScope.RUN, run) if run is not None else None,
    ]
    return tuple(k for k in keys if k is not None)


def covering(
    switches: Iterable[Switch], *, tenant: str, agent: str | None, tool: str, run: str | None
) -> Switch | None:
    """The broadest engaged switch that stops a call of ``tool`` by ``agent`` for ``tenant``.

    ``run`` is the call's run id: an engaged RUN switch on it covers the call
    (its run was cancelled), unless a broader switch covers it too.
    """
    wanted = set(covering_keys(tenant=tenant, agent=agent, tool=tool, run=run))
    engaged = [s for s in switches if s.engaged and SwitchKey(s.scope, s.target) in wanted]
    engaged.sort(key=lambda s: _ORDER.index(s.scope))
    return engaged[0] if engaged else None


def refusal_code(switch: Switch) -> str:
    """The code of a refusal because of ``switch``: a cancelled run's is its own."""
    return RUN_CANCELLED if switch.scope is KillSwitchScope.RUN else KILL_SWITCH_ENGAGED


def stopped_message(switch: Switch) -> str:
    """What a refusal because of ``switch`` tells a person: scope, target, who, when and why."""
    what = (
        f"run {switch.target} was cancelled"
        if switch.scope is KillSwitchScope.RUN
        else f"kill switch {switch.scope.value}:{switch.target} is engaged"
    )
    return f"{what} (set by {switch.set_by} at {switch.set_at.isoformat()}): {switch.reason}"
