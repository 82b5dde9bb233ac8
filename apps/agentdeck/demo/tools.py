"""The support-desk tool catalog: seven tools with full contracts.

=============  ============  ==========  ====================================
tool           side effect   idempotent  notes
=============  ============  ==========  ====================================
lookup_order   READ          yes
create_refund  WRITE         yes         compensation ``cancel_refund``
cancel_refund  WRITE         yes
draft_email    READ          yes         nothing leaves the desk
send_email     IRREVERSIBLE  no          the provider does not deduplicate
http_get       READ          yes         hosts on an allow-list only
run_python     READ          yes         sandboxed: no network, rlimits
=============  ============  ==========  ====================================

Costs are in micro-USD. ``demo_registry(desk)`` closes the tools over a
:class:`~agentdeck.demo.desk.Desk`; without one they act on a fresh
in-memory desk (enough for planners and policies, which need the contracts).
The four desk tools declare ``credential_audience="demo-desk"``: the executor
mints a credential for each of their calls, and the desk's
:class:`~agentdeck.demo.desk_api.DeskApi` refuses any request without the
credential of exactly that call.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from agentdeck.credentials import CredentialKeys
from agentdeck.demo._http import http_getter
from agentdeck.demo._models import (
    DraftedEmail,
    EmailDraft,
    EmailReceipt,
    OrderQuery,
    RefundCancellation,
    RefundRequest,
)
from agentdeck.demo._python import run_python
from agentdeck.demo.desk import Desk, Order, Refund
from agentdeck.demo.desk_api import AUDIENCE, DeskApi
from agentdeck.demo.memory_desk import InMemoryDesk
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.store import Store
from agentdeck.tools import RetryPolicy, SideEffect, ToolContext, ToolRegistry

__all__ = ["TOOL_NAMES", "demo_registry", "tools"]

TOOL_NAMES = (
    "lookup_order",
    "create_refund",
    "cancel_refund",
    "draft_email",
    "send_email",
    "http_get",
    "run_python",
)
"""The demo tools, in the order a support playbook tends to use them."""

_READ_RETRY = RetryPolicy(max_attempts=3, backoff_s=0.1, max_backoff_s=1.0)
_WRITE_RETRY = RetryPolicy(max_attempts=3, backoff_s=0.5, max_backoff_s=5.0)


def _refund_undone(args: RefundRequest, refund: Refund) -> RefundCancellation:
    """How a rollback undoes a refund: cancel exactly the refund the call issued."""
    return RefundCancellation(
        refund_id=refund.refund_id, reason=f"rollback of the refund of order {args.order_id}"
    )


def _desk_tools(registry: ToolRegistry, desk: DeskApi) -> None:
    @registry.tool(
        version="1.0",
        side_effect=SideEffect.READ,
        cost_micros=100,
        max_cost_micros=500,
        timeout_s=5.0,
        retry=_READ_RETRY,
        rate_limit_per_minute=120,
        scopes=("orders:read",),
        credential_audience=AUDIENCE,
        max_concurrency=16,
    )
    def lookup_order(args: OrderQuery, ctx: ToolContext) -> Order:
        """Look an order up: customer email, amount, currency, status and what is refundable."""
        return desk.order(args.order_id, key=ctx.idempotency_key, credential=ctx.credential)

    @registry.tool(
        version="1.0",
        side_effect=SideEffect.WRITE,
        idempotent=True,
        compensation="cancel_refund",
        compensation_args=_refund_undone,
        cost_micros=1_000,
        max_cost_micros=5_000,
        timeout_s=10.0,
        retry=_WRITE_RETRY,
        rate_limit_per_minute=20,
        scopes=("refunds:write",),
        credential_audience=AUDIENCE,
        max_concurrency=4,
    )
    def create_refund(args: RefundRequest, ctx: ToolContext) -> Refund:
        """Refund part or all of an order, in cents; undone by cancel_refund."""
        return desk.create_refund(
            args.order_id,
            args.amount_cents,
            args.reason,
            key=ctx.idempotency_key,
            credential=ctx.credential,
        )

    @registry.tool(
        version="1.0",
        side_effect=SideEffect.WRITE,
        idempotent=True,
        cost_micros=1_000,
        max_cost_micros=5_000,
        timeout_s=10.0,
        retry=_WRITE_RETRY,
        rate_limit_per_minute=20,
        scopes=("refunds:write",),
        credential_audience=AUDIENCE,
        max_concurrency=4,
    )
    def cancel_refund(args: RefundCancellation, ctx: ToolContext) -> Refund:
        """Cancel a refund and make its amount refundable again."""
        return desk.cancel_refund(
            args.refund_id, args.reason, key=ctx.idempotency_key, credential=ctx.credential
        )

    @registry.tool(
        version="1.0",
        side_effect=SideEffect.IRREVERSIBLE,
        idempotent=False,
        cost_micros=1_000,
        max_cost_micros=2_000,
        timeout_s=10.0,
        retry=RetryPolicy(max_attempts=2, backoff_s=1.0),
        rate_limit_per_minute=10,
        scopes=("email:send",),
        credential_audience=AUDIENCE,
        max_concurrency=2,
    )
    def send_email(args: EmailDraft, ctx: ToolContext) -> EmailReceipt:
        """Send an email to one recipient. It cannot be unsent."""
        sent = desk.send_email(
            args.to, args.subject, args.body, key=ctx.idempotency_key, credential=ctx.credential
        )
        return EmailReceipt(message_id=sent.message_id, to=sent.to, subject=sent.subject)


def _standalone_tools(
    registry: ToolRegistry, http_allow_hosts: Collection[str], http_max_bytes: int
) -> None:
    @registry.tool(
        version="1.0",
        side_effect=SideEffect.READ,
        cost_micros=200,
        max_cost_micros=1_000,
        timeout_s=2.0,
        retry=_READ_RETRY,
        rate_limit_per_minute=60,
        scopes=("email:draft",),
    )
    def draft_email(args: EmailDraft, _ctx: ToolContext) -> DraftedEmail:
        """Draft an email for review; nothing is sent."""
        return DraftedEmail(
            to=args.to, subject=args.subject, body=args.body, words=len(args.body.split())
        )

    registry.tool(
        name="http_get",
        description="GET a page from an allow-listed host (no redirects).",
        version="1.0",
        side_effect=SideEffect.READ,
        cost_micros=500,
        max_cost_micros=2_000,
        timeout_s=10.0,
        retry=_READ_RETRY,
        rate_limit_per_minute=30,
        scopes=("web:read",),
        max_concurrency=4,
    )(http_getter(http_allow_hosts, max_bytes=http_max_bytes))

    registry.tool(
        version="1.0",
        side_effect=SideEffect.READ,
        cost_micros=5_000,
        max_cost_micros=20_000,
        timeout_s=10.0,
        retry=RetryPolicy(max_attempts=1),
        rate_limit_per_minute=10,
        scopes=("code:execute",),
        max_concurrency=2,
        sandboxed=True,
    )(run_python)


def demo_registry(
    desk: Desk | DeskApi | None = None,
    *,
    credential_public_keys: Mapping[str, str] | None = None,
    http_allow_hosts: Collection[str] = (),
    http_max_bytes: int = 64_000,
) -> ToolRegistry:
    """The seven demo tools, acting on ``desk`` (a fresh in-memory desk if None).

    Args:
        desk: The system of record the order, refund and email tools use, or its
            API already built (then ``credential_public_keys`` is not used).
        credential_public_keys: The executor's credential public keys, by key id,
            that the desk accepts; none: the desk refuses every request.
        http_allow_hosts: Hosts (or ``host:port``) ``http_get`` may reach; empty: none.
        http_max_bytes: Most bytes of a page ``http_get`` reads.
    """
    if not isinstance(desk, DeskApi):
        keys = CredentialKeys(credential_public_keys or {})
        desk = DeskApi(desk if desk is not None else InMemoryDesk(), keys)
    registry = ToolRegistry()
    _desk_tools(registry, desk)
    _standalone_tools(registry, http_allow_hosts, http_max_bytes)
    return registry


def tools(
    store: Store | None = None,
    http_allow_hosts: Collection[str] = (),
    credential_public_keys: Mapping[str, str] | None = None,
) -> ToolRegistry:
    """The catalog as an executor loads it (``agentdeck worker --tools agentdeck.demo.tools``).

    With a store the tools act on the durable desk in it (seeded on first use);
    without one, on a fresh in-memory desk. The desk accepts credentials signed
    by ``credential_public_keys`` (the executor offers its own).
    """
    desk: Desk | None = None
    if store is not None:
        sql = SqlDesk(store)
        sql.seed()
        desk = sql
    return demo_registry(
        desk, credential_public_keys=credential_public_keys, http_allow_hosts=http_allow_hosts
    )
