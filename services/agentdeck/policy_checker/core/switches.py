"""Kill switches: the latest state per (scope, target) and which one covers a call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from agentdeck.contracts.models import KillSwitchScope, KillSwitchSet
from agentdeck.policy_checker.core.facts import Switch

__all__ = ["GLOBAL_TARGET", "SwitchKey", "applied", "covering", "switch_key", "switch_of"]

GLOBAL_TARGET = "*"
"""Target of the global switch when the event names none."""

_ORDER = (
    KillSwitchScope.GLOBAL,
    KillSwitchScope.TENANT,
    KillSwitchScope.AGENT,
    KillSwitchScope.TOOL,
)


class SwitchKey(NamedTuple):
    """Identity of a switch: one state per scope and target."""

    scope: KillSwitchScope
    target: str


def switch_key(scope: KillSwitchScope, target: str) -> SwitchKey:
    """The switch an event for ``scope`` and ``target`` sets (the global one has no target)."""
    return SwitchKey(scope, GLOBAL_TARGET if scope is KillSwitchScope.GLOBAL else target)


def switch_of(event: KillSwitchSet) -> Switch:
    """The switch state an event sets."""
    target = GLOBAL_TARGET if event.scope is KillSwitchScope.GLOBAL else event.target
    return Switch(
        scope=event.scope,
        target=target,
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


def covering(
    switches: Iterable[Switch], *, tenant: str, agent: str | None, tool: str
) -> Switch | None:
    """The broadest engaged switch that stops a call of ``tool`` by ``agent`` for ``tenant``."""
    wanted = {
        KillSwitchScope.GLOBAL: GLOBAL_TARGET,
        KillSwitchScope.TENANT: tenant,
        KillSwitchScope.AGENT: agent,
        KillSwitchScope.TOOL: tool,
    }
    engaged = [s for s in switches if s.engaged and wanted[s.scope] == s.target]
    engaged.sort(key=lambda s: _ORDER.index(s.scope))
    return engaged[0] if engaged else None
