"""Tool contracts from a :class:`~agentdeck.tools.ToolRegistry`, as facts for the policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agentdeck.contracts.models import SideEffect
from agentdeck.policy_checker.core import ToolFacts
from agentdeck.tools import ToolContract, ToolRegistry

__all__ = ["ToolCatalog"]

_MAX_PROBLEMS = 3


def _facts(contract: ToolContract) -> ToolFacts:
    return ToolFacts(
        name=contract.name,
        registered=True,
        version=contract.version,
        side_effect=contract.side_effect,
        cost_micros=contract.cost_micros,
        max_cost_micros=contract.max_cost_micros,
        rate_limit_per_minute=contract.rate_limit_per_minute or 0,
        scopes=tuple(contract.scopes),
        sandboxed=contract.sandboxed,
    )


class ToolCatalog:
    """The contracts the policy-checker knows; a name it does not know is an unknown tool."""

    def __init__(self, registry: ToolRegistry) -> None:
        self._contracts = {tool.contract.name: tool.contract for tool in registry}
        self._facts = {name: _facts(c) for name, c in self._contracts.items()}

    def facts(self, name: str, claimed: SideEffect) -> ToolFacts:
        """The contract facts of ``name``; unregistered tools keep the side effect claimed."""
        known = self._facts.get(name)
        return known or ToolFacts(name=name, registered=False, side_effect=claimed)

    def check(self, name: str, args: Mapping[str, Any]) -> str | None:
        """Why ``args`` do not fit the contract of ``name`` (None if they do, or it is unknown)."""
        contract = self._contracts.get(name)
        if contract is None:
            return None
        try:
            contract.input_model.model_validate(dict(args))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()[:_MAX_PROBLEMS]
            ]
            return "arguments do not fit the contract: " + "; ".join(problems)
        return None
