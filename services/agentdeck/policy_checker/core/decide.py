"""From a verdict to a decision: the budget hold it needs, the record kept, the events sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from agentdeck.contracts.models import DecisionOutcome, SideEffect, ToolCallRequested
from agentdeck.ids import decision_id_for, reservation_id_for
from agentdeck.policy_checker.core.bundle import Bundle
from agentdeck.policy_checker.core.evaluate import Verdict
from agentdeck.policy_checker.core.facts import NO_BUDGET, BudgetView, CallFacts
from agentdeck.policy_checker.core.reasons import micro_dollars
from agentdeck.signing import bound_approval_id

__all__ = [
    "BUDGET",
    "DecisionRecord",
    "Draft",
    "HeldBudget",
    "Hold",
    "HoldOutcome",
    "Ttls",
    "draft",
    "planned_holds",
    "record_for",
    "tenant_scope",
]

BUDGET = "platform.budget"
_RUNS = (DecisionOutcome.ALLOW, DecisionOutcome.REQUIRE_APPROVAL)


def tenant_scope(tenant: str) -> str:
    """Budget scope of a tenant."""
    return f"tenant:{tenant}"


@dataclass(frozen=True)
class Hold:
    """Budget to reserve before the decision may say the call can run."""

    reservation_id: str
    scope: str
    amount_micros: int


@dataclass(frozen=True)
class Draft:
    """A decision before its budget hold: the guarded verdict and the hold it needs."""

    request: ToolCallRequested
    decision_id: str
    verdict: Verdict
    hold: Hold | None


@dataclass(frozen=True)
class HoldOutcome:
    """What the budget store said to a hold."""

    held: bool
    remaining_micros: int
    exists: bool = True


@dataclass(frozen=True)
class Ttls:
    """How long decisions stay valid: an ALLOW briefly, a REQUIRE_APPROVAL past any approval."""

    allow: timedelta
    approval: timedelta


class HeldBudget(BaseModel):
    """A reservation a decision holds."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str
    scope: str
    amount_micros: int
    remaining_micros: int


class DecisionRecord(BaseModel):
    """A decision as journaled: with its request, everything needed to re-emit the same events."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    outcome: DecisionOutcome
    matched: tuple[str, ...]
    reason: str
    decided_at: AwareDatetime
    expires_at: AwareDatetime | None
    bundle_version: str
    bundle_digest: str
    side_effect: SideEffect
    tool_version: str | None
    max_cost_micros: int
    hold: HeldBudget | None = None
    approval_id: str | None = None
    run_spent_micros: int = 0
    """The run's spend the decision read: its settled calls and its charged model calls (0 in
    records journaled before it was kept)."""


def draft(request: ToolCallRequested, facts: CallFacts, verdict: Verdict) -> Draft:
    """The draft decision; a call that may run and may cost something needs a hold."""
    decision_id = decision_id_for(request.envelope.event_id)
    hold = None
    if verdict.outcome in _RUNS and facts.max_cost_micros > 0:
        scope = tenant_scope(facts.tenant)
        hold = Hold(reservation_id_for(decision_id), scope, facts.max_cost_micros)
    return Draft(request, decision_id, verdict, hold)


def planned_holds(
    drafts: Sequence[Draft], budgets: Mapping[str, BudgetView]
) -> dict[str, HoldOutcome]:
    """What the budget store will say to each draft's hold, in order, by reservation id.

    Exactly what holding them one after another against ``budgets`` gives (a
    hold fits while the scope has at least its amount left), as long as nobody
    else holds from the same scopes meanwhile; the store checks that when the
    holds are written.
    """
    left = {scope: view.remaining_micros for scope, view in budgets.items()}
    planned: dict[str, HoldOutcome] = {}
    for draft in drafts:
        hold = draft.hold
        if hold is None:
            continue
        view = budgets.get(hold.scope, NO_BUDGET)
        remaining = left.get(hold.scope, 0)
        fits = view.exists and hold.amount_micros <= remaining
        if fits:
            remaining -= hold.amount_micros
            left[hold.scope] = remaining
        planned[hold.reservation_id] = HoldOutcome(fits, remaining, view.exists)
    return planned


def record_for(
    draft: Draft,
    facts: CallFacts,
    bundle: Bundle,
    *,
    outcome: HoldOutcome | None,
    decided_at: datetime,
    ttls: Ttls,
) -> DecisionRecord:
    """The final decision: the verdict, unless the budget hold it needed was refused."""
    verdict, held = draft.verdict, None
    if draft.hold is not None:
        if outcome is None or not outcome.held:
            verdict = _refused(facts, outcome)
        else:
            held = HeldBudget(
                reservation_id=draft.hold.reservation_id,
                scope=draft.hold.scope,
                amount_micros=draft.hold.amount_micros,
                remaining_micros=outcome.remaining_micros,
            )
    return DecisionRecord(
        decision_id=draft.decision_id,
        outcome=verdict.outcome,
        matched=verdict.matched + _approval_tags(verdict),
        reason=verdict.reason,
        decided_at=decided_at,
        expires_at=_expiry(verdict.outcome, decided_at, ttls),
        bundle_version=bundle.version,
        bundle_digest=bundle.digest,
        side_effect=facts.tool.side_effect if facts.tool.registered else draft.request.side_effect,
        tool_version=facts.tool.version if facts.tool.registered else draft.request.tool_version,
        max_cost_micros=facts.max_cost_micros,
        hold=held,
        approval_id=bound_approval_id(draft.decision_id, verdict.outcome),
        run_spent_micros=facts.run_spent_micros,
    )


def _approval_tags(verdict: Verdict) -> tuple[str, ...]:
    # The approval service reads the band and role from these tags.
    if verdict.outcome is not DecisionOutcome.REQUIRE_APPROVAL:
        return ()
    tags = []
    if verdict.risk_band is not None:
        tags.append(f"risk:{verdict.risk_band.value}")
    if verdict.approver_role:
        tags.append(f"approver:{verdict.approver_role}")
    return tuple(tags)


def _expiry(outcome: DecisionOutcome, decided_at: datetime, ttls: Ttls) -> datetime | None:
    if outcome is DecisionOutcome.ALLOW:
        return decided_at + ttls.allow
    if outcome is DecisionOutcome.REQUIRE_APPROVAL:
        return decided_at + ttls.approval
    return None


def _refused(facts: CallFacts, outcome: HoldOutcome | None) -> Verdict:
    cost = micro_dollars(facts.max_cost_micros)
    if outcome is None or not outcome.exists:
        reason = f"tenant {facts.tenant} has no budget; {facts.tool.name} may cost up to {cost}"
    else:
        left = micro_dollars(outcome.remaining_micros)
        reason = (
            f"tenant {facts.tenant} has {left} of budget left;"
            f" {facts.tool.name} may cost up to {cost}"
        )
    return Verdict(DecisionOutcome.DENY, (BUDGET,), reason)
