"""Opening a case from a REQUIRE_APPROVAL decision (pure)."""

from datetime import timedelta

import pytest

from agentdeck.approval.core import InvalidDecision, Rules, needs_case, open_case
from agentdeck.contracts import models as m
from agentdeck.ids import approval_id_for
from testkit.kafka import NOW, TEST_PRODUCER


def test_a_case_is_bound_to_the_decisions_approval_id_and_payload_hash(make_decision, rules):
    decision = make_decision()
    case = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    request = case.request
    assert request.approval_id == approval_id_for(decision.decision_id)
    assert request.payload_hash == decision.arguments_hash
    assert request.decision_id == decision.decision_id
    assert request.deadline == NOW + timedelta(hours=1)
    assert request.default_outcome == "deny"
    assert case.escalate_at == NOW + timedelta(minutes=30)
    assert case.escalate_to == "finance"
    assert request.envelope.run_id == decision.envelope.run_id
    assert request.envelope.causation_id == decision.envelope.event_id


def test_opening_the_same_decision_twice_yields_the_same_event_id(make_decision, rules):
    decision = make_decision()
    first = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    again = open_case(decision, rules, now=NOW + timedelta(seconds=5), producer=TEST_PRODUCER)
    assert first.request.envelope.event_id == again.request.envelope.event_id


def test_the_requester_is_the_agent_or_else_the_tenant(make_decision, rules):
    with_agent = open_case(make_decision(agent="bot-7"), rules, now=NOW, producer=TEST_PRODUCER)
    without = open_case(make_decision(agent=None), rules, now=NOW, producer=TEST_PRODUCER)
    assert with_agent.request.requested_by == "bot-7"
    assert without.request.requested_by == "acme"


def test_without_tags_the_default_band_and_its_role_apply(make_decision, rules):
    request = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER).request
    assert (request.risk_band, request.approver_role, request.quorum) == (
        "medium",
        "support-lead",
        1,
    )


def test_policy_tags_choose_the_risk_band_and_the_role(make_decision, rules):
    decision = make_decision(matched=("refund-cap", "risk:high", "approver:cfo"))
    request = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER).request
    assert (request.risk_band, request.approver_role) == ("high", "cfo")


def test_the_highest_band_needs_the_configured_quorum(make_decision, rules):
    decision = make_decision(matched=("risk:high",))
    request = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER).request
    assert (request.approver_role, request.quorum) == ("finance", 2)


def test_a_tools_configured_band_applies_when_the_policy_names_none(make_decision, rules):
    tooled = Rules(**{**rules.__dict__, "tool_bands": {"send_email": "high"}})
    decision = make_decision(tool="send_email", arguments={"to": "x@example.org"})
    assert open_case(decision, tooled, now=NOW, producer=TEST_PRODUCER).request.risk_band == "high"


def test_the_last_role_of_the_chain_has_nowhere_to_escalate(make_decision, rules):
    case = open_case(make_decision(matched=("risk:high",)), rules, now=NOW, producer=TEST_PRODUCER)
    assert (case.escalate_at, case.escalate_to) == (None, None)
    assert case.next_timer == case.deadline


def test_no_escalation_when_its_point_is_not_before_the_deadline(make_decision, rules):
    late = Rules(**{**rules.__dict__, "escalate_after": timedelta(hours=2)})
    case = open_case(make_decision(), late, now=NOW, producer=TEST_PRODUCER)
    assert case.escalate_at is None


@pytest.mark.parametrize("approval_id", [None, "someone-else", approval_id_for("another-decision")])
def test_a_decision_naming_another_approval_id_or_none_is_refused(
    make_decision, rules, approval_id
):
    # The executor refuses the same decisions (tests/services/tool_executor/test_refusals.py):
    # a case opened for one would be a human's time spent on a call that can never run.
    decision = make_decision().model_copy(update={"approval_id": approval_id})
    with pytest.raises(InvalidDecision) as caught:
        open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    assert caught.value.code == "approval_id_mismatch"


def test_arguments_that_do_not_match_their_hash_are_never_shown_to_a_human(make_decision, rules):
    decision = make_decision().model_copy(update={"arguments_json": '{"amount_cents":1}'})
    with pytest.raises(InvalidDecision) as caught:
        open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    assert caught.value.code == "arguments_hash_mismatch"


def test_the_summary_names_tool_arguments_run_requester_and_reason(make_decision, rules):
    decision = make_decision(run_id="run-4711")
    summary = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER).request.summary
    assert summary == (
        'create_refund(amount_cents=25000, order_id="1042") for run run-4711, '
        "requested by support-bot: refunds above $50 need a human"
    )


def test_long_arguments_are_cut_before_the_reason(make_decision, rules):
    short = Rules(**{**rules.__dict__, "summary_max_chars": 120})
    decision = make_decision(arguments={"body": "x" * 1000})
    summary = open_case(decision, short, now=NOW, producer=TEST_PRODUCER).request.summary
    assert len(summary) <= 120
    assert summary.endswith("refunds above $50 need a human")


def test_only_require_approval_decisions_need_a_case(make_decision):
    assert needs_case(make_decision())
    assert not needs_case(make_decision(outcome=m.DecisionOutcome.ALLOW))
    assert not needs_case(make_decision(outcome=m.DecisionOutcome.DENY))
