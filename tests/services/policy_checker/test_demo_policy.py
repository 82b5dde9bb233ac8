"""The support desk's demo bundle, rule by rule, through the pure evaluation and the guards."""

from __future__ import annotations

from agentdeck import controls
from agentdeck.contracts.models import DecisionOutcome, KillSwitchScope, SideEffect
from agentdeck.policy_checker import core
from testkit.kafka import NOW

from ._support import ACME_BUDGET, email, refund, requested, verdict

ALLOW, DENY, ASK = DecisionOutcome.ALLOW, DecisionOutcome.DENY, DecisionOutcome.REQUIRE_APPROVAL


def test_a_20_dollar_refund_runs_on_its_own() -> None:
    result = verdict(refund(2000))
    assert result.outcome is ALLOW
    assert result.matched == ("refund-auto-approved",)
    assert result.reason == "refund of $20.00 is within the $50.00 auto-approve limit"


def test_a_230_dollar_refund_waits_for_a_support_lead() -> None:
    result = verdict(refund(23000))
    assert result.outcome is ASK
    assert result.matched == ("refund-needs-approval",)
    assert result.reason == (
        "refund of $230.00 exceeds the $50.00 auto-approve limit; needs approval by support-lead"
    )
    assert result.risk_band is core.RiskBand.MEDIUM
    assert result.approver_role == "support-lead"


def test_a_900_dollar_refund_is_refused() -> None:
    result = verdict(refund(90000))
    assert result.outcome is DENY
    assert result.matched == ("refund-above-limit",)
    assert "exceeds the $500.00 limit" in result.reason


def test_email_to_a_customer_outside_the_tenant_domain_needs_approval() -> None:
    result = verdict(email("customer@example.com"))
    assert result.outcome is ASK
    assert result.matched == ("email-external-needs-approval",)
    assert "customer@example.com leaves acme's own domains" in result.reason


def test_email_inside_the_tenant_domain_is_sent() -> None:
    result = verdict(email("support-leads@ACME.example"))
    assert result.outcome is ALLOW
    assert result.matched == ("email-internal",)


def test_reads_are_allowed() -> None:
    result = verdict(requested("lookup_order", {"order_id": "1042"}, side_effect=SideEffect.READ))
    assert result.outcome is ALLOW
    assert result.matched == ("read-tools-allowed",)
    assert result.reason == "lookup_order only reads"


def test_an_unknown_tool_is_refused_by_the_bundle() -> None:
    result = verdict(requested("format_disk", {"device": "/dev/sda"}))
    assert result.outcome is DENY
    assert result.matched == ("unknown-tool-denied",)
    assert result.reason == "no tool named format_disk is registered"


def test_an_engaged_kill_switch_refuses_even_a_small_refund() -> None:
    switch = controls.Switch(
        KillSwitchScope.TOOL, "create_refund", True, "oncall", "bad refunds", NOW
    )
    snapshot = core.Snapshot(switches=[switch], budgets={"tenant:acme": ACME_BUDGET})
    result = verdict(refund(2000), snapshot=snapshot)
    assert result.outcome is DENY
    assert result.matched == ("kill-switch-engaged",)
    assert result.reason == (
        "the TOOL kill switch on create_refund is engaged by oncall: bad refunds"
    )


def test_an_exhausted_budget_refuses_a_paid_call() -> None:
    almost_gone = core.BudgetView(exists=True, limit_micros=1_000_000, remaining_micros=1_000)
    snapshot = core.Snapshot(budgets={"tenant:acme": almost_gone})
    result = verdict(refund(2000), snapshot=snapshot)
    assert result.outcome is DENY
    assert result.matched == ("budget-exhausted",)
    assert result.reason == (
        "tenant acme has $0.001 of budget left; create_refund may cost up to $0.005"
    )


def test_a_tenant_without_a_budget_cannot_run_paid_calls() -> None:
    empty = core.Snapshot()
    read = requested("lookup_order", {"order_id": "1"}, tenant="globex", max_cost_micros=0)
    result = verdict(read, snapshot=empty)  # the contract's maximum cost counts, not the request's
    assert result.outcome is DENY
    assert result.matched == ("no-budget",)
    assert result.reason == "tenant globex has no budget; lookup_order may cost up to $0.0005"


def test_too_many_calls_in_a_minute_are_refused() -> None:
    result = verdict(refund(2000), calls_last_minute=21)
    assert result.outcome is DENY
    assert result.matched == ("rate-limited",)
    assert "its limit is 20 a minute" in result.reason


def test_an_agent_without_the_tool_scope_is_refused() -> None:
    result = verdict(requested("run_python", {"code": "print(1)"}, side_effect=SideEffect.READ))
    assert result.outcome is DENY
    assert result.matched == ("missing-scopes",)


def test_a_read_only_agent_may_not_write() -> None:
    result = verdict(refund(2000, agent="analyst-agent"))
    assert result.outcome is DENY
    assert "tier-read-only" in result.matched


def test_an_unknown_agent_only_suggests_so_even_a_small_refund_waits_for_a_human() -> None:
    result = verdict(refund(2000, agent="stranger"))
    assert result.outcome is ASK  # the stricter of refund-auto-approved and tier-suggest wins
    assert result.matched == ("tier-suggest",)
    assert result.approver_role == "support-lead"
    assert "only suggests changes" in result.reason


def test_arguments_that_do_not_fit_the_contract_are_refused_whatever_the_policies_say() -> None:
    result = verdict(refund(-5))
    assert result.outcome is DENY
    assert result.matched == (core.ARGUMENTS,)
    assert "amount_cents" in result.reason


def test_arguments_that_do_not_match_their_hash_are_refused() -> None:
    result = verdict(refund(2000, arguments_hash="0" * 64))
    assert result.outcome is DENY
    assert result.matched == (core.ARGUMENTS,)
    assert "arguments_hash" in result.reason


def test_a_tool_version_the_registered_contract_cannot_serve_is_refused() -> None:
    result = verdict(refund(2000, tool_version="2.0"))
    assert result.outcome is DENY
    assert result.matched == (core.TOOL_VERSION,)
    assert result.reason == "create_refund version 2.0 was requested; version 1.0 is registered"
    assert verdict(refund(2000, tool_version="1")).outcome is ALLOW  # same major, minor not newer
