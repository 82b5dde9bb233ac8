"""The batch decision: which calls run, which wait, which are refused.

Pure: the caller reads the approval slots and call claims the batch touches,
and gets back the calls to execute and the slots to save. A refused event
raises (the consumer loop then handles the batch event by event and
dead-letters exactly the refused one), before anything has run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from agentdeck.contracts import Event
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    DecisionOutcome,
    PolicyDecided,
)
from agentdeck.signing import Verifier
from agentdeck.tool_executor.core.errors import DecisionRefused
from agentdeck.tool_executor.core.parking import (
    ApprovalSlot,
    on_closed,
    on_decision,
    on_grant,
)
from agentdeck.tool_executor.core.verify import check_approval_signature, check_decision
from agentdeck.tools import ToolContract, ToolRegistry

__all__ = ["Claim", "Execution", "Plan", "Trust", "approval_ids", "check_claim", "plan"]


@dataclass(frozen=True)
class Trust:
    """Whose signatures count, which tools run here, and what time it is."""

    decisions: Verifier
    approvals: Verifier
    tools: ToolRegistry
    now: datetime
    ignore_foreign_tools: bool = False


@dataclass(frozen=True)
class Claim:
    """The decision event that first claimed an idempotency key."""

    decision_id: str
    event_id: str


@dataclass(frozen=True)
class Execution:
    """A verified call to run."""

    decision: PolicyDecided
    contract: ToolContract
    seen: bool = False
    """The call was claimed before this batch: it has a ledger entry, so no admission checks."""


@dataclass
class Plan:
    """Calls to run, in batch order, and the approval slots that changed."""

    executions: list[Execution] = field(default_factory=list)
    slots: dict[str, ApprovalSlot] = field(default_factory=dict)


def approval_ids(events: Sequence[Event]) -> set[str]:
    """The approval slots a batch touches."""
    ids = {e.approval_id for e in events if isinstance(e, PolicyDecided) and e.approval_id}
    kinds = ApprovalGranted | ApprovalDenied | ApprovalExpired
    return ids | {e.approval_id for e in events if isinstance(e, kinds)}


def check_claim(decision: PolicyDecided, claims: dict[str, Claim]) -> None:
    """Refuse a decision for a key another decision event claimed; else claim it in ``claims``.

    Raises:
        DecisionRefused: ``decision_replayed``.
    """
    key = decision.idempotency_key or ""
    claim = claims.get(key)
    if claim is not None and claim.event_id != decision.envelope.event_id:
        raise DecisionRefused(
            "decision_replayed",
            f"call {key} was already authorised by decision {claim.decision_id}"
            f" (event {claim.event_id}); decision {decision.decision_id} is a replay",
            "a call runs once per idempotency key; request a new attempt instead",
        )
    claims[key] = Claim(decision.decision_id, decision.envelope.event_id)


class _Planner:
    def __init__(
        self, trust: Trust, slots: Mapping[str, ApprovalSlot], claims: Mapping[str, Claim]
    ):
        self.trust = trust
        self.slots = dict(slots)
        self.claims = dict(claims)
        self.plan = Plan()

    def run(self, decision: PolicyDecided | None) -> None:
        if decision is None:
            return
        contract = self.trust.tools.contract(decision.tool)
        seen = (decision.idempotency_key or "") in self.claims
        check_claim(decision, self.claims)
        self.plan.executions.append(Execution(decision, contract, seen=seen))

    def save(self, slot: ApprovalSlot) -> None:
        self.slots[slot.approval_id] = slot
        self.plan.slots[slot.approval_id] = slot

    def decision(self, decision: PolicyDecided) -> None:
        if decision.outcome is DecisionOutcome.DENY:
            return
        if self.trust.ignore_foreign_tools and decision.tool not in self.trust.tools:
            return
        t = self.trust
        # A call this very decision began before (its executor died mid-call, and the
        # decision comes again, re-driven, maybe after it expired) is reconciled, not
        # refused: it was authorised when it began, and it never starts anew.
        claim = self.claims.get(decision.idempotency_key or "")
        began = claim is not None and claim.event_id == decision.envelope.event_id
        check_decision(decision, keys=t.decisions, tools=t.tools, now=None if began else t.now)
        if decision.outcome is DecisionOutcome.ALLOW:
            self.run(decision)
            return
        approval = decision.approval_id or ""
        slot, released = on_decision(self.slots.get(approval), decision, approval)
        self.save(slot)
        self.run(released)

    def grant(self, grant: ApprovalGranted) -> None:
        check_approval_signature(grant, self.trust.approvals)
        slot, released = on_grant(self.slots.get(grant.approval_id), grant)
        self.save(slot)
        self.run(released)

    def closed(self, event: ApprovalDenied | ApprovalExpired) -> None:
        check_approval_signature(event, self.trust.approvals)
        self.save(on_closed(self.slots.get(event.approval_id), event.approval_id))


def plan(
    events: Sequence[Event],
    *,
    trust: Trust,
    slots: Mapping[str, ApprovalSlot],
    claims: Mapping[str, Claim],
) -> Plan:
    """Verify every event of a batch and decide what runs.

    Raises:
        DecisionRefused: A decision is forged, expired, mismatched or replayed.
        ApprovalRefused: An approval outcome is forged, mismatched or reused.
    """
    planner = _Planner(trust, slots, claims)
    for event in events:
        if isinstance(event, PolicyDecided):
            planner.decision(event)
        elif isinstance(event, ApprovalGranted):
            planner.grant(event)
        elif isinstance(event, ApprovalDenied | ApprovalExpired):
            planner.closed(event)
    return planner.plan
