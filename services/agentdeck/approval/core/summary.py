"""The sentence an approver reads: which tool, with what, for whom, and why."""

from __future__ import annotations

import json

from agentdeck.contracts.models import PolicyDecided

__all__ = ["summarize"]


def _arguments(arguments_json: str | None) -> str:
    if arguments_json is None:
        return "(arguments not carried by the decision)"
    try:
        value = json.loads(arguments_json)
    except ValueError:
        return arguments_json
    if not isinstance(value, dict):
        return arguments_json
    return ", ".join(f"{key}={json.dumps(item, ensure_ascii=False)}" for key, item in value.items())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def summarize(decision: PolicyDecided, *, requested_by: str, limit: int) -> str:
    """``tool(arguments) for run R, requested by P: reason``, at most ``limit`` characters.

    Long arguments are cut first, so the reason stays readable.
    """
    run = decision.envelope.run_id or "-"
    tail = f" for run {run}, requested by {requested_by}: {decision.reason}"
    budget = max(limit - len(tail) - len(decision.tool) - 2, 16)
    arguments = _cut(_arguments(decision.arguments_json), budget)
    return _cut(f"{decision.tool}({arguments}){tail}", limit)
