from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.credentials import args_sha256, mint
from agentdeck.demo.desk import DeskError
from agentdeck.demo.tools import TOOL_NAMES, demo_registry
from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.signing import Signer, generate_private_key
from agentdeck.tools import SideEffect, ToolContext

EXECUTOR = Signer("executor-1", generate_private_key())
KEYS = {EXECUTOR.key_id: EXECUTOR.public_key_b64()}


def _ctx(key: str = "key-1") -> ToolContext:
    return ToolContext(
        run_id="run-1",
        step_id="s1",
        tenant="acme",
        agent=None,
        idempotency_key=key,
        attempt=1,
        deadline=datetime.now(UTC) + timedelta(minutes=1),
    )


def _call(registry, name, ctx=None, **args):  # type: ignore[no-untyped-def]
    """Call a tool as the executor would: with a credential for this very call if it needs one."""
    tool = registry.get(name)
    model = tool.contract.input_model.model_validate(args)
    ctx = ctx or _ctx()
    if tool.contract.credential_audience:
        token = mint(
            EXECUTOR,
            issuer="tool-executor",
            audience=tool.contract.credential_audience,
            run_id=ctx.run_id,
            call_id=ctx.idempotency_key,
            tool=name,
            args_sha256=args_sha256(model.model_dump(mode="json")),
            not_before=datetime.now(UTC),
            not_after=ctx.deadline,
        )
        ctx = replace(ctx, credential=token)
    return tool.function(model, ctx)


def test_the_catalog_declares_the_seven_tools_with_full_contracts():
    registry = demo_registry()
    assert registry.names() == sorted(TOOL_NAMES)
    for tool in registry:
        contract = tool.contract
        assert contract.version == "1.0"
        assert 0 < contract.cost_micros <= contract.max_cost_micros
        assert contract.scopes
        assert contract.rate_limit_per_minute
    refund = registry.contract("create_refund")
    assert (refund.side_effect, refund.compensation) == (SideEffect.WRITE, "cancel_refund")
    assert registry.contract("send_email").side_effect is SideEffect.IRREVERSIBLE
    assert not registry.contract("send_email").idempotent
    assert registry.contract("run_python").sandboxed
    assert {t.contract.name for t in registry if t.contract.credential_audience} == {
        "lookup_order",
        "create_refund",
        "cancel_refund",
        "send_email",
    }


def test_a_refund_reduces_what_is_refundable_and_its_cancellation_restores_it():
    registry = demo_registry(credential_public_keys=KEYS)
    refund = _call(registry, "create_refund", order_id="1042", amount_cents=1200, reason="late")
    assert _call(registry, "lookup_order", order_id="1042").refundable_cents == 3000
    again = _call(registry, "create_refund", order_id="1042", amount_cents=1200, reason="late")
    assert again == refund
    cancelled = _call(registry, "cancel_refund", refund_id=refund.refund_id, reason="oops")
    assert cancelled.status == "cancelled"
    order = _call(registry, "lookup_order", order_id="1042")
    assert (order.refundable_cents, order.status) == (4200, "paid")


def test_a_refund_above_what_is_refundable_is_refused_as_invalid():
    registry = demo_registry(credential_public_keys=KEYS)
    with pytest.raises(DeskError) as caught:
        _call(registry, "create_refund", order_id="1042", amount_cents=9000, reason="x")
    assert caught.value.code == "refund_exceeds_refundable"
    assert caught.value.category is ErrorCategory.VALIDATION


def test_http_get_refuses_hosts_off_the_allow_list_as_a_policy_failure():
    registry = demo_registry(http_allow_hosts=("docs.example.com",))
    with pytest.raises(TerminalError) as caught:
        _call(registry, "http_get", url="http://169.254.169.254/latest/meta-data")
    assert (caught.value.code, caught.value.category) == ("host_not_allowed", ErrorCategory.POLICY)


def test_run_python_refuses_to_run_outside_the_sandbox():
    with pytest.raises(TerminalError) as caught:
        _call(demo_registry(), "run_python", code="print(1)")
    assert caught.value.code == "sandbox_required"
