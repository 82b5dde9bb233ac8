"""The kill-switch rules every enforcing service shares."""

from datetime import timedelta

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.controls import applied, covering, stopped_message, switch_key, switch_of
from testkit.controls import kill_switch
from testkit.kafka import NOW


def test_the_broadest_engaged_switch_covers_a_call() -> None:
    tool = switch_of(kill_switch(KillSwitchScope.TOOL, "send_email"))
    tenant = switch_of(kill_switch(KillSwitchScope.TENANT, "acme"))
    released = switch_of(kill_switch(KillSwitchScope.GLOBAL, "", engaged=False))
    found = covering([tool, tenant, released], tenant="acme", agent=None, tool="send_email")
    assert found == tenant
    assert covering([tool], tenant="acme", agent="a", tool="lookup_order") is None


def test_an_agent_switch_covers_only_that_agents_calls() -> None:
    agent = switch_of(kill_switch(KillSwitchScope.AGENT, "bot"))
    assert covering([agent], tenant="acme", agent="bot", tool="x") == agent
    assert covering([agent], tenant="acme", agent="other", tool="x") is None
    assert covering([agent], tenant="acme", agent=None, tool="x") is None


def test_the_global_switch_covers_everything_whatever_target_it_named() -> None:
    every = switch_of(kill_switch(KillSwitchScope.GLOBAL, "anything"))
    assert every.target == "*"
    assert covering([every], tenant="t", agent=None, tool="x") == every


def test_a_late_older_switch_event_changes_nothing() -> None:
    newer = switch_of(kill_switch(KillSwitchScope.AGENT, "bot", at=NOW + timedelta(1)))
    older = kill_switch(KillSwitchScope.AGENT, "bot", engaged=False, at=NOW)
    assert applied(newer, older) is None
    assert switch_key(KillSwitchScope.GLOBAL, "anything") == (KillSwitchScope.GLOBAL, "*")


def test_a_refusal_names_the_scope_target_operator_and_reason() -> None:
    message = stopped_message(switch_of(kill_switch(KillSwitchScope.TENANT, "acme")))
    assert "TENANT:acme" in message
    assert "oncall" in message
    assert "incident 42" in message
