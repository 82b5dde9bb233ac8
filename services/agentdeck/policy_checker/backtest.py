"""Policy backtesting: what would a candidate bundle have decided on recorded tool calls?

Every recorded ``ToolCallRequested`` is evaluated with the candidate bundle and
compared with the ``PolicyDecided`` recorded for it. The request, its arguments
and the tool contracts are exact; the state the service read at decision time
(spend so far, calls in the last minute, kill switches) is not in the log, so
the backtest evaluates with a neutral state: a budget that never runs out, no
switch engaged, no rate pressure. Rules about the request itself (amounts,
recipients, tools, tiers) are answered exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.policy_checker.core import BudgetView, evaluate, tenant_scope
from agentdeck.policy_checker.core.engine import PolicyEngine
from agentdeck.policy_checker.core.gather import Catalog, Snapshot, gather

__all__ = ["NEUTRAL_BUDGET", "BacktestReport", "Change", "backtest"]

NEUTRAL_BUDGET = BudgetView(exists=True, limit_micros=10**15, remaining_micros=10**15)
"""The budget assumed where the log does not say: one that never runs out."""


@dataclass(frozen=True)
class Change:
    """One call the candidate decides differently."""

    run_id: str
    step_id: str
    tenant: str
    tool: str
    arguments_json: str
    recorded: str
    candidate: str
    reason: str


@dataclass(frozen=True)
class BacktestReport:
    """Every call evaluated, and those whose outcome changes."""

    bundle_digest: str
    calls: int
    changes: list[Change] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """Counts by new outcome, the change in approval load, and who is affected."""
        moved = Counter(c.candidate for c in self.changes)
        approvals = moved["REQUIRE_APPROVAL"] - sum(
            c.recorded == "REQUIRE_APPROVAL" for c in self.changes
        )
        return {
            "bundle_digest": self.bundle_digest,
            "calls": self.calls,
            "changed": len(self.changes),
            "now_denied": moved["DENY"],
            "now_allowed": moved["ALLOW"],
            "now_needing_approval": moved["REQUIRE_APPROVAL"],
            "approval_load_change": approvals,
            "tenants": sorted({c.tenant for c in self.changes}),
            "tools": sorted({c.tool for c in self.changes}),
        }

    def as_json(self) -> dict[str, object]:
        """The machine-readable report."""
        return {"summary": self.summary(), "changes": [asdict(c) for c in self.changes]}


def backtest(events: Sequence[Event], engine: PolicyEngine, catalog: Catalog) -> BacktestReport:
    """Evaluate ``engine``'s bundle on every recorded request in ``events``."""
    requests = [e for e in events if isinstance(e, m.ToolCallRequested)]
    decided = {e.request_id: e for e in events if isinstance(e, m.PolicyDecided)}
    tenants = {r.envelope.tenant for r in requests}
    snapshot = Snapshot(budgets={tenant_scope(t): NEUTRAL_BUDGET for t in tenants})
    facts = gather(requests, catalog, snapshot, [1] * len(requests))
    verdicts = evaluate(engine, facts)
    changes = []
    for request, verdict in zip(requests, verdicts, strict=True):
        recorded = decided.get(request.envelope.event_id)
        if recorded is None or recorded.outcome is verdict.outcome:
            continue
        env = request.envelope
        changes.append(
            Change(
                env.run_id or "",
                env.step_id or "",
                env.tenant,
                request.tool,
                request.arguments_json,
                recorded.outcome.value,
                verdict.outcome.value,
                verdict.reason,
            )
        )
    return BacktestReport(engine.bundle.digest, len(requests), changes)
