"""Policy backtesting: what would a candidate bundle have decided on recorded tool calls?

Every recorded ``ToolCallRequested`` is decided by the service's own pipeline
(the candidate bundle, then the platform guards) and compared with the
``PolicyDecided`` recorded for it. The request, its arguments and the tool
contracts are exact, so the guards refuse what production refuses (arguments
that break their contract, an unknown tool, a version the registered tool cannot
serve). The state the service read at decision time (spend so far, calls in
the last minute, kill switches) is not in the log, so the backtest decides with
a neutral state: a budget that never runs out, no switch engaged, no rate
pressure. Rules about the request itself (amounts, recipients, tools, tiers)
are answered exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.policy_checker import core

__all__ = ["BacktestReport", "Change", "backtest"]


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


def backtest(
    events: Sequence[Event], engine: core.PolicyEngine, catalog: core.Catalog
) -> BacktestReport:
    """Decide every recorded request in ``events`` with ``engine``'s bundle and the guards."""
    requests = [e for e in events if isinstance(e, m.ToolCallRequested)]
    decided = {e.request_id: e for e in events if isinstance(e, m.PolicyDecided)}
    tenants = {r.envelope.tenant for r in requests}
    snapshot = core.Snapshot(budgets={core.tenant_scope(t): core.NEUTRAL_BUDGET for t in tenants})
    drafted = core.pipeline(engine, requests, catalog, snapshot, [1] * len(requests))
    changes = []
    for request, (_, draft) in zip(requests, drafted, strict=True):
        verdict = draft.verdict
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
