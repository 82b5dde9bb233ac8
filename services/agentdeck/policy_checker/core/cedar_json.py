"""Requests and entities in Cedar's JSON shapes, built from the facts (data only, no engine).

The principal is ``Agent::"<tenant>/<agent>"`` (a member of ``Tenant::"<tenant>"``),
the action ``Action::"call_tool"``, the resource ``Tool::"<tool>"``; everything
else is context. Arguments become a Cedar record: integers that fit 64 bits,
strings, booleans, nested records and sets; anything else (floats, huge
integers) becomes its text, and keys Cedar's JSON would read as escapes
(``__entity``, ``__extn``, ``__expr``) are dropped, so an argument can never
smuggle in an entity reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from agentdeck.policy_checker.core.bundle import Manifest, Tier
from agentdeck.policy_checker.core.facts import CallFacts

__all__ = [
    "ACTION",
    "RECIPIENT_FIELDS",
    "context_for",
    "entities_for",
    "reason_facts",
    "request_for",
    "request_with",
]

ACTION = {"type": "Action", "id": "call_tool"}
RECIPIENT_FIELDS = ("to", "cc", "bcc")
"""Argument names whose email addresses make up ``context.recipient_domains``."""

_I64 = 2**63
_ESCAPES = {"__entity", "__extn", "__expr"}
_ADDRESS = re.compile(r"[^<>\s,;]+@([^<>\s,;]*)")
_NO_AGENT = "-"


def _uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


def principal_id(facts: CallFacts) -> str:
    """The principal's entity id: tenant and agent."""
    return f"{facts.tenant}/{facts.agent or _NO_AGENT}"


def cedar_value(value: Any) -> Any:
    """``value`` as a Cedar JSON value (see the module doc)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if -_I64 <= value < _I64 else str(value)
    if isinstance(value, Mapping):
        return {str(k): cedar_value(v) for k, v in value.items() if k not in _ESCAPES}
    if isinstance(value, list | tuple):
        return [cedar_value(v) for v in value if v is not None]
    return "" if value is None else str(value)


def recipient_domains(args: Mapping[str, Any]) -> list[str]:
    """Lower-cased domains of the addresses in the recipient fields; "" for a bad address."""
    found: set[str] = set()
    for name in RECIPIENT_FIELDS:
        value = args.get(name)
        items = value if isinstance(value, list) else [value] if value is not None else []
        for item in items:
            text = str(item)
            domains = [m.group(1).lower().rstrip(".") for m in _ADDRESS.finditer(text)]
            found.update(domains or [""])
    return sorted(found)


def context_for(manifest: Manifest, facts: CallFacts) -> dict[str, Any]:
    """The ``context`` record of a request."""
    switch = facts.switch
    return {
        "args": cedar_value({k: v for k, v in facts.args.items() if v is not None}),
        "recipient_domains": recipient_domains(facts.args),
        "attempt": facts.attempt,
        "autonomy_tier": manifest.tier_of(facts.agent, facts.tool.name).value,
        "max_cost_micros": facts.max_cost_micros,
        "budget": {
            "exists": facts.budget.exists,
            "limit_micros": facts.budget.limit_micros,
            "remaining_micros": facts.budget.remaining_micros,
        },
        "run": {"spent_micros": facts.run_spent_micros},
        "rate": {"calls_last_minute": facts.calls_last_minute},
        "kill_switch": {
            "engaged": switch is not None,
            "scope": switch.scope.value if switch else "",
            "target": switch.target if switch else "",
            "set_by": switch.set_by if switch else "",
            "reason": switch.reason if switch else "",
        },
    }


def request_for(manifest: Manifest, facts: CallFacts) -> dict[str, Any]:
    """The Cedar request of one call."""
    return {
        "principal": _uid("Agent", principal_id(facts)),
        "action": ACTION,
        "resource": _uid("Tool", facts.tool.name),
        "context": context_for(manifest, facts),
    }


def request_with(facts: CallFacts, context: dict[str, Any]) -> dict[str, Any]:
    """The Cedar request of one call whose context is already built."""
    return {
        "principal": _uid("Agent", principal_id(facts)),
        "action": ACTION,
        "resource": _uid("Tool", facts.tool.name),
        "context": context,
    }


def _tool_attrs(manifest: Manifest, facts: CallFacts) -> dict[str, Any]:
    tool = facts.tool
    cap = manifest.tools.get(tool.name)
    return {
        "name": tool.name,
        "registered": tool.registered,
        "version": tool.version,
        "side_effect": tool.side_effect.value,
        "cost_micros": tool.cost_micros,
        "max_cost_micros": tool.max_cost_micros,
        "rate_limit_per_minute": tool.rate_limit_per_minute,
        "scopes": list(tool.scopes),
        "sandboxed": tool.sandboxed,
        "tier": (cap.tier if cap else Tier.AUTO_WITH_NOTIFICATION).value,
    }


def entities_for(manifest: Manifest, calls: Iterable[CallFacts]) -> list[dict[str, Any]]:
    """The tenants, agents and tools the requests of ``calls`` refer to (each once)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for facts in calls:
        tenant = manifest.tenants.get(facts.tenant)
        found[("Tenant", facts.tenant)] = {
            "uid": _uid("Tenant", facts.tenant),
            "attrs": {"domains": [d.lower() for d in tenant.domains] if tenant else []},
            "parents": [],
        }
        profile = manifest.agent(facts.agent)
        found[("Agent", principal_id(facts))] = {
            "uid": _uid("Agent", principal_id(facts)),
            "attrs": {
                "name": facts.agent or _NO_AGENT,
                "tenant": {"__entity": _uid("Tenant", facts.tenant)},
                "tier": profile.tier.value,
                "scopes": list(profile.scopes),
            },
            "parents": [_uid("Tenant", facts.tenant)],
        }
        found[("Tool", facts.tool.name)] = {
            "uid": _uid("Tool", facts.tool.name),
            "attrs": _tool_attrs(manifest, facts),
            "parents": [],
        }
    return list(found.values())


def reason_facts(
    manifest: Manifest, facts: CallFacts, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What reason templates may refer to: the context plus names and the contract."""
    return {
        **(context if context is not None else context_for(manifest, facts)),
        "args": dict(facts.args),
        "tool": facts.tool.name,
        "tenant": facts.tenant,
        "agent": facts.agent or _NO_AGENT,
        "contract": _tool_attrs(manifest, facts),
    }
