"""The policy pipeline: facts, the bundle's verdicts, the platform guards, the draft decision.

The service, shadow mode, replay and the backtest all decide through here,
so none of them can skip a step the others take: a backtest or a replay
refuses what production refuses.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentdeck.contracts.models import ToolCallRequested
from agentdeck.policy_checker.core.decide import Draft, draft
from agentdeck.policy_checker.core.engine import PolicyEngine
from agentdeck.policy_checker.core.evaluate import Verdict, evaluate
from agentdeck.policy_checker.core.facts import BudgetView, CallFacts
from agentdeck.policy_checker.core.gather import Catalog, Snapshot, gather
from agentdeck.policy_checker.core.guards import guarded

__all__ = ["NEUTRAL_BUDGET", "Drafted", "guarded_verdicts", "pipeline"]

NEUTRAL_BUDGET = BudgetView(exists=True, limit_micros=10**15, remaining_micros=10**15)
"""The budget replay and the backtest assume where the log does not say: one that never runs out."""

Drafted = tuple[CallFacts, Draft]
"""A request's facts and its draft decision (the guarded verdict and the hold it needs)."""


def guarded_verdicts(engine: PolicyEngine, facts: Sequence[CallFacts]) -> list[Verdict]:
    """``engine``'s verdicts with the platform guards applied."""
    verdicts = evaluate(engine, facts)
    return [guarded(f, v) for f, v in zip(facts, verdicts, strict=True)]


def pipeline(
    engine: PolicyEngine,
    requests: Sequence[ToolCallRequested],
    catalog: Catalog,
    snapshot: Snapshot,
    counts: Sequence[int],
) -> list[Drafted]:
    """Each request's facts and draft decision, in order: what the service would decide.

    Args:
        engine: The bundle that decides.
        requests: The tool-call requests.
        catalog: The tool contracts.
        snapshot: The state read for the batch (switches, budgets, spend).
        counts: Each request's calls of its tool by its tenant in the current minute.
    """
    facts = gather(requests, catalog, snapshot, counts)
    verdicts = guarded_verdicts(engine, facts)
    return [(f, draft(r, f, v)) for r, f, v in zip(requests, facts, verdicts, strict=True)]
