"""The pure core: reasons, guards, decisions, signatures, kill switches, settlements."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from agentdeck import controls
from agentdeck.contracts.models import (
    DecisionOutcome,
    KillSwitchScope,
    PolicyDecided,
    SideEffect,
    ToolCallRequested,
)
from agentdeck.errors import ConfigError
from agentdeck.ids import approval_id_for, decision_id_for, reservation_id_for
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.core.reasons import check_template, render
from agentdeck.policy_checker.main import DEMO_BUNDLE
from agentdeck.signing import Signer, Verifier, decision_message, generate_private_key
from testkit.kafka import NOW, TEST_PRODUCER

from ._support import (
    DEMO,
    approval_denied,
    approval_expired,
    completed,
    facts_of,
    failed,
    refund,
    requested,
    verdict,
)

TTLS = core.Ttls(allow=timedelta(minutes=5), approval=timedelta(hours=24))
KEY = Signer("policy-test", generate_private_key())


def _bundle(tmp_path: Path, policies: str) -> core.PolicyEngine:
    """A bundle of ``policies`` over the demo schema, with nothing in its manifest."""
    root = tmp_path / "bundle"
    (root / "policies").mkdir(parents=True)
    (root / "manifest.yaml").write_text("name: open\nversion: '0'\n")
    shutil.copy(DEMO_BUNDLE / "schema.cedarschema", root)
    (root / "policies" / "all.cedar").write_text(policies)
    return load_bundle(root)


PERMIT_ALL = '@id("all")\npermit (principal, action, resource);\n'


def _decide(
    request: ToolCallRequested,
    outcome: core.HoldOutcome | None = None,
) -> tuple[core.Draft, core.DecisionRecord]:
    facts = facts_of(request)
    draft = core.draft(request, facts, verdict(request))
    record = core.record_for(draft, facts, DEMO.bundle, outcome=outcome, decided_at=NOW, ttls=TTLS)
    return draft, record


def test_reasons_format_money_and_survive_missing_facts() -> None:
    facts = {"args": {"amount_cents": 123456}, "cost": 1_500, "tool": "x"}
    assert render("{args.amount_cents|cents}", facts) == "$1,234.56"
    assert render("{cost|micros} for {tool}", facts) == "$0.0015 for x"
    assert render("{args.missing} {nowhere.deep|cents}", facts) == "? ?"
    with pytest.raises(ConfigError):
        check_template("{tool|yen}", what="test")


def test_guards_refuse_unknown_tools_and_kill_switches_a_bundle_forgot(tmp_path: Path) -> None:
    engine = _bundle(tmp_path, PERMIT_ALL)
    unknown = verdict(requested("format_disk", {}), engine=engine)
    assert (unknown.outcome, unknown.matched) == (DecisionOutcome.DENY, (core.UNKNOWN_TOOL,))
    switch = controls.Switch(KillSwitchScope.GLOBAL, "*", True, "oncall", "freeze", NOW)
    snapshot = core.Snapshot(switches=[switch])
    stopped = verdict(refund(2000), engine=engine, snapshot=snapshot)
    assert (stopped.outcome, stopped.matched) == (DecisionOutcome.DENY, (core.KILL_SWITCH,))
    assert stopped.reason == "the GLOBAL kill switch on * is engaged by oncall: freeze"


def test_a_call_no_policy_permits_is_denied_by_default_and_says_so(tmp_path: Path) -> None:
    reads_only = '@id("reads")\npermit (principal, action, resource == Tool::"lookup_order");'
    result = verdict(refund(2000), engine=_bundle(tmp_path, reads_only))
    assert result.outcome is DecisionOutcome.DENY
    assert result.matched == (core.DEFAULT_DENY,)
    assert result.reason == "no policy permits create_refund for support-agent of tenant acme"


def test_a_policy_that_fails_to_evaluate_fails_closed(tmp_path: Path) -> None:
    overflow = (
        '@id("overflow")\nforbid (principal, action, resource)\n'
        "when { context.budget.remaining_micros * 9223372036854775807 > 0 };"
    )
    engine = _bundle(tmp_path, PERMIT_ALL + overflow)
    result = verdict(refund(2000), engine=engine)
    assert result.outcome is DecisionOutcome.DENY
    assert result.matched == (core.EVALUATION_ERROR,)
    assert "overflow" in result.reason


def test_an_allowed_paid_call_holds_its_maximum_cost_on_the_tenant_budget() -> None:
    request = refund(2000)
    draft, record = _decide(request, core.HoldOutcome(held=True, remaining_micros=99_995_000))
    decision_id = decision_id_for(request.envelope.event_id)
    assert draft.hold == core.Hold(reservation_id_for(decision_id), "tenant:acme", 5_000)
    assert record.outcome is DecisionOutcome.ALLOW
    assert record.expires_at == NOW + timedelta(minutes=5)
    assert record.hold is not None
    assert record.hold.remaining_micros == 99_995_000


def test_a_refused_hold_turns_the_decision_into_a_deny_that_says_why() -> None:
    _, record = _decide(refund(2000), core.HoldOutcome(held=False, remaining_micros=1_200))
    assert record.outcome is DecisionOutcome.DENY
    assert record.matched == (core.BUDGET,)
    assert (
        record.reason
        == "tenant acme has $0.0012 of budget left; create_refund may cost up to $0.005"
    )
    assert record.hold is None
    assert record.expires_at is None


def test_an_approval_decision_holds_budget_names_its_approval_and_outlives_it() -> None:
    request = refund(23000)
    _, record = _decide(request, core.HoldOutcome(held=True, remaining_micros=1))
    decision_id = decision_id_for(request.envelope.event_id)
    assert record.outcome is DecisionOutcome.REQUIRE_APPROVAL
    assert record.approval_id == approval_id_for(decision_id)
    assert record.matched == ("refund-needs-approval", "risk:medium", "approver:support-lead")
    assert record.expires_at == NOW + timedelta(hours=24)


def test_a_denied_call_holds_nothing() -> None:
    draft, record = _decide(refund(90000))
    assert draft.hold is None
    assert record.outcome is DecisionOutcome.DENY


def test_decision_events_are_signed_and_fill_every_v2_field() -> None:
    request = refund(2000)
    _, record = _decide(request, core.HoldOutcome(held=True, remaining_micros=7))
    events = core.events_for(record, request, identity=TEST_PRODUCER, key=KEY)
    (decision,) = events
    assert isinstance(decision, PolicyDecided)
    verifier = Verifier({KEY.key_id: KEY.public_key_b64()})
    assert verifier.verify(decision.key_id, decision_message(decision), decision.signature)
    assert decision.decision_id == decision_id_for(request.envelope.event_id)
    assert decision.request_id == request.envelope.event_id
    assert decision.arguments_json == request.arguments_json
    assert decision.idempotency_key == request.idempotency_key
    assert decision.side_effect is SideEffect.WRITE
    assert decision.tool_version == "1.0"
    assert decision.max_cost_micros == 5_000
    assert decision.attempt == 1
    assert decision.bundle_digest == DEMO.bundle.digest
    assert decision.reservation_id == record.hold.reservation_id
    assert (decision.budget_scope, decision.budget_remaining_micros) == ("tenant:acme", 7)
    again = core.events_for(record, request, identity=TEST_PRODUCER, key=KEY)
    assert again == events  # a redelivered request re-emits exactly the same events


def test_a_tampered_decision_no_longer_verifies() -> None:
    request = refund(23000)
    _, record = _decide(request, core.HoldOutcome(held=True, remaining_micros=1))
    decision = core.events_for(record, request, identity=TEST_PRODUCER, key=KEY)[0]
    assert isinstance(decision, PolicyDecided)
    forged = decision.model_copy(update={"outcome": DecisionOutcome.ALLOW})
    verifier = Verifier({KEY.key_id: KEY.public_key_b64()})
    assert not verifier.verify(forged.key_id, decision_message(forged), forged.signature)


def test_results_and_refusals_settle_or_release_the_hold_they_name() -> None:
    request = refund(23000)
    _, record = _decide(request, core.HoldOutcome(held=True, remaining_micros=1))
    ref = core.hold_ref(record, request)
    assert ref is not None
    approval = record.approval_id or ""
    refs = dict.fromkeys(ref.stored_under(), ref)
    spent = core.settlements([completed(request, 1_234), failed(request)], refs)
    assert [(s.ref.reservation_id, s.actual_micros) for s in spent] == [(ref.reservation_id, 1_234)]
    for refusal in (
        failed(request),
        approval_denied(request, approval),
        approval_expired(request, approval),
    ):
        (released,) = core.settlements([refusal], refs)
        assert released.actual_micros is None
    assert core.settlements([approval_expired(request, approval, outcome="allow")], refs) == []
    assert spent[0].ref.amount_micros == 5_000


def test_holds_are_planned_one_after_another_as_the_store_takes_them() -> None:
    def drafted(n: int, scope: str, amount: int) -> core.Draft:
        request = refund(1000)
        verdict = core.Verdict(DecisionOutcome.ALLOW, ("p",), "ok")
        return core.Draft(request, f"d{n}", verdict, core.Hold(f"r{n}", scope, amount))

    budgets = {
        "tenant:a": core.BudgetView(exists=True, limit_micros=100, remaining_micros=100),
        "tenant:b": core.NO_BUDGET,
    }
    drafts = [
        drafted(1, "tenant:a", 60),
        drafted(2, "tenant:a", 50),  # 40 left: refused
        drafted(3, "tenant:a", 40),  # exactly what is left: held
        drafted(4, "tenant:b", 1),  # no budget
    ]
    planned = core.planned_holds(drafts, budgets)
    assert planned == {
        "r1": core.HoldOutcome(True, 40),
        "r2": core.HoldOutcome(False, 40),
        "r3": core.HoldOutcome(True, 0),
        "r4": core.HoldOutcome(False, 0, exists=False),
    }
