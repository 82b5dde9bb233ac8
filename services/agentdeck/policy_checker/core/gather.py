"""Putting a request's facts together from the contract and a snapshot of the service's state."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentdeck.contracts.models import SideEffect, ToolCallRequested
from agentdeck.controls import Switch, covering
from agentdeck.policy_checker.core.budget import Charge
from agentdeck.policy_checker.core.decide import tenant_scope
from agentdeck.policy_checker.core.evaluate import Verdict
from agentdeck.policy_checker.core.facts import (
    NO_BUDGET,
    Arguments,
    BudgetView,
    CallFacts,
    ToolFacts,
    parse_arguments,
)

__all__ = ["Catalog", "Snapshot", "charged", "divergent", "facts_for", "gather"]


class Catalog(Protocol):
    """The tool contracts the service knows."""

    def facts(self, name: str, claimed: SideEffect) -> ToolFacts:
        """The contract facts of ``name`` (unregistered: keeps the side effect claimed)."""
        ...

    def check(self, name: str, args: Mapping[str, Any]) -> str | None:
        """Why ``args`` do not fit the contract of ``name``, if they do not."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """State read once per batch: switches, budgets by scope, spend by run."""

    switches: Sequence[Switch] = ()
    budgets: Mapping[str, BudgetView] = field(default_factory=dict)
    run_spend: Mapping[str, int] = field(default_factory=dict)


def charged(snapshot: Snapshot, charges: Sequence[Charge]) -> Snapshot:
    """``snapshot`` after ``charges``: less left in their budgets, more spent by their runs.

    The batch's charges are written before its holds, in the same transaction,
    so its requests are decided on the budgets as the holds will find them.
    """
    if not charges:
        return snapshot
    left = {scope: view.remaining_micros for scope, view in snapshot.budgets.items()}
    spent = dict(snapshot.run_spend)
    for charge in charges:
        if charge.scope in left:
            left[charge.scope] -= charge.amount_micros
        if charge.run_id is not None:
            spent[charge.run_id] = spent.get(charge.run_id, 0) + charge.amount_micros
    budgets = {
        scope: dataclasses.replace(view, remaining_micros=left[scope]) if view.exists else view
        for scope, view in snapshot.budgets.items()
    }
    return dataclasses.replace(snapshot, budgets=budgets, run_spend=spent)


def facts_for(
    request: ToolCallRequested,
    tool: ToolFacts,
    *,
    arguments: Arguments,
    contract_problem: str | None,
    snapshot: Snapshot,
    calls_last_minute: int,
) -> CallFacts:
    """The facts of ``request`` (see :class:`CallFacts`)."""
    env = request.envelope
    return CallFacts(
        tool=tool,
        tenant=env.tenant,
        agent=env.agent,
        args=arguments.values,
        args_problem=arguments.problem or contract_problem,
        requested_version=request.tool_version,
        attempt=request.attempt,
        max_cost_micros=max(request.max_cost_micros, tool.max_cost_micros),
        budget=snapshot.budgets.get(tenant_scope(env.tenant), NO_BUDGET),
        run_spent_micros=snapshot.run_spend.get(env.run_id or "", 0),
        calls_last_minute=calls_last_minute,
        switch=covering(
            snapshot.switches,
            tenant=env.tenant,
            agent=env.agent,
            tool=request.tool,
            run=env.run_id,
        ),
    )


def gather(
    requests: Sequence[ToolCallRequested],
    catalog: Catalog,
    snapshot: Snapshot,
    calls_last_minute: Sequence[int],
) -> list[CallFacts]:
    """The facts of every request of a batch."""
    facts = []
    for request, count in zip(requests, calls_last_minute, strict=True):
        arguments = parse_arguments(request)
        problem = None if arguments.problem else catalog.check(request.tool, arguments.values)
        facts.append(
            facts_for(
                request,
                catalog.facts(request.tool, request.side_effect),
                arguments=arguments,
                contract_problem=problem,
                snapshot=snapshot,
                calls_last_minute=count,
            )
        )
    return facts


def divergent(active: Sequence[Verdict], candidate: Sequence[Verdict]) -> list[int]:
    """Positions where the candidate bundle's outcome differs from the active one's."""
    return [
        i
        for i, (a, c) in enumerate(zip(active, candidate, strict=True))
        if a.outcome is not c.outcome
    ]
