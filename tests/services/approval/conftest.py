"""Builders shared by the approval service's tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from agentdeck.approval.core import Rules
from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.ids import approval_id_for, decision_id_for
from testkit.kafka import NOW, TEST_PRODUCER

MakeDecision = Callable[..., m.PolicyDecided]


def decision(
    *,
    run_id: str | None = None,
    tool: str = "create_refund",
    arguments: dict[str, Any] | None = None,
    agent: str | None = "support-bot",
    tenant: str = "acme",
    outcome: m.DecisionOutcome = m.DecisionOutcome.REQUIRE_APPROVAL,
    matched: tuple[str, ...] = ("refund-needs-approval",),
    reason: str = "refunds above $50 need a human",
) -> m.PolicyDecided:
    """A REQUIRE_APPROVAL decision of a fresh run, unless told otherwise."""
    run = run_id or f"run-{uuid.uuid4().hex[:12]}"
    args = canonical_json(arguments or {"order_id": "1042", "amount_cents": 25000})
    request_id = deterministic_id("request", run)
    decision_id = decision_id_for(request_id)
    env = envelope_for(
        m.PolicyDecided,
        event_id=deterministic_id("decided", run),
        tenant=tenant,
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run,
        step_id="refund",
        agent=agent,
        causation_id=request_id,
    )
    return m.PolicyDecided(
        envelope=env,
        decision_id=decision_id,
        request_id=request_id,
        tool=tool,
        arguments_hash=sha256_hex(args),
        outcome=outcome,
        matched_policies=matched,
        reason=reason,
        bundle_version="v1",
        bundle_digest="digest",
        key_id="policy-1",
        signature=b"sig",
        arguments_json=args,
        approval_id=approval_id_for(decision_id)
        if outcome is m.DecisionOutcome.REQUIRE_APPROVAL
        else None,
    )


@pytest.fixture
def make_decision() -> MakeDecision:
    """Builds PolicyDecided events (see :func:`decision`)."""
    return decision


@pytest.fixture
def rules() -> Rules:
    """One hour to decide, escalation after half of it, two finance approvers for high risk."""
    return Rules(
        deadline=timedelta(hours=1),
        escalate_after=timedelta(minutes=30),
        default_band="medium",
        band_roles={"medium": "support-lead", "high": "finance"},
        quorum={"high": 2},
        escalation_chain=("support-lead", "finance"),
    )
