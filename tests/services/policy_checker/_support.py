"""Builders shared by the policy-checker's tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel

from agentdeck.contracts import Event, deterministic_id, envelope_for, follow_up
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.errors import ErrorCategory
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.ids import idempotency_key_for
from agentdeck.kafka import Inbound
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.main import DEMO_BUNDLE
from agentdeck.tools import ToolContext, ToolRegistry
from testkit.kafka import NOW, TEST_PRODUCER

DEMO = load_bundle(DEMO_BUNDLE)
DEMO_CATALOG = ToolCatalog(demo_registry())
ACME_BUDGET = core.BudgetView(exists=True, limit_micros=100_000_000, remaining_micros=100_000_000)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def requested(
    tool: str,
    args: dict[str, Any],
    *,
    tenant: str = "acme",
    agent: str | None = "support-agent",
    run_id: str | None = None,
    step: str = "step-1",
    attempt: int = 1,
    side_effect: m.SideEffect = m.SideEffect.WRITE,
    max_cost_micros: int = 0,
    tool_version: str | None = None,
    arguments_hash: str | None = None,
    at: datetime = NOW,
) -> m.ToolCallRequested:
    """A ToolCallRequested of a fresh run (unless ``run_id`` is given)."""
    run = run_id or unique("run")
    text = canonical_json(args)
    return m.ToolCallRequested(
        envelope=envelope_for(
            m.ToolCallRequested,
            event_id=deterministic_id("requested", run, step, str(attempt)),
            tenant=tenant,
            producer=TEST_PRODUCER,
            occurred_at=at,
            run_id=run,
            step_id=step,
            agent=agent,
        ),
        tool=tool,
        tool_version=tool_version,
        arguments_json=text,
        arguments_hash=arguments_hash or sha256_hex(text),
        idempotency_key=idempotency_key_for(run, step, attempt),
        side_effect=side_effect,
        max_cost_micros=max_cost_micros,
        attempt=attempt,
    )


def refund(cents: int, **kwargs: Any) -> m.ToolCallRequested:
    """A create_refund request of ``cents``."""
    args = {"order_id": "1042", "amount_cents": cents, "reason": "damaged"}
    return requested("create_refund", args, **kwargs)


def email(to: str, **kwargs: Any) -> m.ToolCallRequested:
    """A send_email request to ``to``."""
    args = {"to": to, "subject": "Your refund", "body": "We refunded your order."}
    return requested("send_email", args, side_effect=m.SideEffect.IRREVERSIBLE, **kwargs)


def facts_of(
    request: m.ToolCallRequested,
    *,
    catalog: ToolCatalog = DEMO_CATALOG,
    snapshot: core.Snapshot | None = None,
    calls_last_minute: int = 1,
) -> core.CallFacts:
    """The facts the service would gather for ``request``."""
    snapshot = snapshot or core.Snapshot(budgets={"tenant:acme": ACME_BUDGET})
    return core.gather([request], catalog, snapshot, [calls_last_minute])[0]


def verdict(
    request: m.ToolCallRequested, engine: core.PolicyEngine = DEMO, **kwargs: Any
) -> core.Verdict:
    """The guarded verdict of ``engine`` on ``request``."""
    return core.guarded_verdicts(engine, [facts_of(request, **kwargs)])[0]


def inbound(events: Sequence[Event]) -> list[Inbound]:
    """Events as a consumer loop hands them to a handler (handlers read only the event)."""
    return [Inbound(event, cast(Any, None)) for event in events]


def completed(request: m.ToolCallRequested, cost_micros: int) -> m.ToolCallCompleted:
    """The executor's ToolCallCompleted of ``request``."""
    return m.ToolCallCompleted(
        envelope=follow_up(request, m.ToolCallCompleted, producer=TEST_PRODUCER, occurred_at=NOW),
        tool=request.tool,
        idempotency_key=request.idempotency_key,
        output_json="{}",
        output_hash=sha256_hex("{}"),
        cost_micros=cost_micros,
        duration_ms=3,
        provenance=m.Provenance(source="test", fetched_at=NOW, tool_version="1.0"),
    )


def failed(request: m.ToolCallRequested) -> m.ToolCallFailed:
    """The executor's ToolCallFailed of ``request``."""
    return m.ToolCallFailed(
        envelope=follow_up(request, m.ToolCallFailed, producer=TEST_PRODUCER, occurred_at=NOW),
        tool=request.tool,
        idempotency_key=request.idempotency_key,
        failure=m.ErrorInfo(
            capability="tool.test",
            code="boom",
            category=ErrorCategory.PERMANENT,
            retryable=False,
            message="boom",
        ),
    )


def approval_denied(request: m.ToolCallRequested, approval_id: str) -> m.ApprovalDenied:
    """The approval service's ApprovalDenied for ``approval_id``."""
    return m.ApprovalDenied(
        envelope=follow_up(request, m.ApprovalDenied, producer=TEST_PRODUCER, occurred_at=NOW),
        approval_id=approval_id,
        payload_hash=request.arguments_hash,
        approver="lee",
        approver_role="support-lead",
        key_id="approval-1",
        signature=b"x",
    )


def approval_expired(
    request: m.ToolCallRequested, approval_id: str, outcome: str = "deny"
) -> m.ApprovalExpired:
    """The approval service's ApprovalExpired for ``approval_id``."""
    return m.ApprovalExpired(
        envelope=follow_up(request, m.ApprovalExpired, producer=TEST_PRODUCER, occurred_at=NOW),
        approval_id=approval_id,
        payload_hash=request.arguments_hash,
        outcome=outcome,
        key_id="approval-1",
        signature=b"x",
    )


class OrderArgs(BaseModel):
    """Arguments of the small registry's read."""

    order_id: str


class RefundArgs(BaseModel):
    """Arguments of the small registry's paid write."""

    order_id: str
    amount_cents: int
    reason: str


class Done(BaseModel):
    """Result of the small registry's tools."""

    ok: bool = True


def small_registry() -> ToolRegistry:
    """Two tools of our own: a free, rate-limited read and a paid write ($0.40 at most)."""
    registry = ToolRegistry()

    @registry.tool(version="2", side_effect=m.SideEffect.READ, rate_limit_per_minute=3)
    def lookup_order(args: OrderArgs, _ctx: ToolContext) -> Done:
        """Read."""
        return Done()

    @registry.tool(version="2", side_effect=m.SideEffect.WRITE, max_cost_micros=400_000)
    def create_refund(args: RefundArgs, _ctx: ToolContext) -> Done:
        """Write."""
        return Done()

    return registry


def journaled(decision_id: str, at: datetime, *, reason: str = "ok") -> core.DecisionRecord:
    """A journaled ALLOW (as the decision handler records it)."""
    return core.DecisionRecord(
        decision_id=decision_id,
        outcome=m.DecisionOutcome.ALLOW,
        matched=("refund-auto-approved",),
        reason=reason,
        decided_at=at,
        expires_at=at + timedelta(minutes=5),
        bundle_version="1",
        bundle_digest="d" * 64,
        side_effect=m.SideEffect.WRITE,
        tool_version="1.0",
        max_cost_micros=5_000,
        run_spent_micros=7,
    )


def model_call(
    cost_micros: int, *, tenant: str, run_id: str, turn: int = 1, cached: bool = False
) -> m.LlmCallRecorded:
    """The planner's LlmCallRecorded of ``run_id``'s model turn ``turn``."""
    return m.LlmCallRecorded(
        envelope=envelope_for(
            m.LlmCallRecorded,
            event_id=deterministic_id(run_id, "llm", str(turn)),
            tenant=tenant,
            producer=TEST_PRODUCER,
            occurred_at=NOW,
            run_id=run_id,
        ),
        model="small",
        request_hash=sha256_hex(f"{run_id}/{turn}"),
        request_json="{}",
        response_json="{}",
        prompt_tokens=1_000,
        completion_tokens=100,
        cost_micros=cost_micros,
        latency_ms=5,
        cached=cached,
    )
