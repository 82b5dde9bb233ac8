"""Which cases a principal may see and decide, and in which role (pure)."""

from datetime import timedelta

import pytest

from agentdeck.approval.core import (
    ALL_TENANTS,
    Approver,
    Escalate,
    Principal,
    acting_as,
    entitled,
    on_timer,
    open_case,
)
from testkit.kafka import NOW, TEST_PRODUCER


def _who(*roles: str, tenants: tuple[str, ...] = ("acme",)) -> Principal:
    return Principal(name="pat", roles=frozenset(roles), tenants=frozenset(tenants))


@pytest.fixture
def case(make_decision, rules):
    """Acme's support-lead case, escalating to finance."""
    return open_case(make_decision(tenant="acme"), rules, now=NOW, producer=TEST_PRODUCER)


def test_a_support_lead_of_the_tenant_acts_in_the_requested_role(case):
    assert acting_as(_who("support-lead", "auditor"), case) == Approver(
        name="pat", role="support-lead"
    )


def test_an_approver_of_another_tenant_is_not_entitled_whatever_its_role(case):
    assert not entitled(_who("support-lead", "finance", tenants=("globex",)), case)


def test_a_principal_without_tenants_is_entitled_to_nothing(case):
    assert not entitled(_who("support-lead", tenants=()), case)


def test_only_an_explicit_wildcard_acts_for_every_tenant(case):
    assert entitled(_who("support-lead", tenants=(ALL_TENANTS,)), case)
    assert not entitled(_who("support-lead", tenants=("a*", "")), case)


def test_a_role_that_may_not_decide_the_case_sees_nothing_of_it(case):
    assert not entitled(_who("finance"), case)


def test_the_escalation_role_is_entitled_once_the_case_is_escalated(case):
    escalated = on_timer(case, case.escalate_at + timedelta(seconds=1))
    assert isinstance(escalated, Escalate)
    assert acting_as(_who("finance"), escalated.case) == Approver(name="pat", role="finance")
    both = acting_as(_who("finance", "support-lead"), escalated.case)
    assert both == Approver(name="pat", role="support-lead")  # the requested role wins
