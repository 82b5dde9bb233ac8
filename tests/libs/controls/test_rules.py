"""The kill-switch rules every enforcing service shares."""

from datetime import timedelta

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.controls import (
    KILL_SWITCH_ENGAGED,
    RUN_CANCELLED,
    applied,
    covering,
    covering_keys,
    refusal_code,
    stopped_message,
    switch_key,
    switch_of,
)
from testkit.controls import kill_switch
from testkit.kafka import NOW


def test_the_broadest_engaged_switch_covers_a_call() -> None:
    tool = switch_of(kill_switch(KillSwitchScope.TOOL, "send_email"))
    tenant = switch_of(kill_switch(KillSwitchScope.TENANT, "acme"))
    released = switch_of(kill_switch(KillSwitchScope.GLOBAL, "", engaged=False))
    found = covering(
        [tool, tenant, released], tenant="acme", agent=None, tool="send_email", run=None
    )
    assert found == tenant
    assert covering([tool], tenant="acme", agent="a", tool="lookup_order", run=None) is None


def test_an_agent_switch_covers_only_that_agents_calls() -> None:
    agent = switch_of(kill_switch(KillSwitchScope.AGENT, "bot"))
    assert covering([agent], tenant="acme", agent="bot", tool="x", run=None) == agent
    assert covering([agent], tenant="acme", agent="other", tool="x", run=None) is None
    assert covering([agent], tenant="acme", agent=None, tool="x", run=None) is None


def test_the_global_switch_covers_everything_whatever_target_it_named() -> None:
    every = switch_of(kill_switch(KillSwitchScope.GLOBAL, "anything"))
    assert every.target == "*"
    assert covering([every], tenant="t", agent=None, tool="x", run=None) == every


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


def test_a_run_switch_covers_only_the_calls_of_its_run() -> None:
    run = switch_of(kill_switch(KillSwitchScope.RUN, "run-1"))
    assert covering([run], tenant="acme", agent="bot", tool="x", run="run-1") == run
    assert covering([run], tenant="acme", agent="bot", tool="x", run="run-2") is None
    assert covering([run], tenant="acme", agent="bot", tool="x", run=None) is None
    assert covering([run], tenant="run-1", agent="run-1", tool="run-1", run=None) is None


def test_a_broader_switch_wins_over_a_run_switch() -> None:
    run = switch_of(kill_switch(KillSwitchScope.RUN, "run-1"))
    tool = switch_of(kill_switch(KillSwitchScope.TOOL, "x"))
    assert covering([run, tool], tenant="acme", agent=None, tool="x", run="run-1") == tool


def test_a_released_run_switch_covers_nothing() -> None:
    released = switch_of(kill_switch(KillSwitchScope.RUN, "run-1", engaged=False))
    assert covering([released], tenant="acme", agent=None, tool="x", run="run-1") is None


def test_a_cancelled_runs_refusal_has_its_own_code_and_says_so() -> None:
    run = switch_of(kill_switch(KillSwitchScope.RUN, "run-1"))
    tenant = switch_of(kill_switch(KillSwitchScope.TENANT, "acme"))
    assert refusal_code(run) == RUN_CANCELLED
    assert refusal_code(tenant) == KILL_SWITCH_ENGAGED
    message = stopped_message(run)
    assert "run run-1 was cancelled" in message
    assert "incident 42" in message


def test_the_keys_that_could_cover_a_call_leave_out_a_missing_agent_and_run() -> None:
    keys = covering_keys(tenant="acme", agent=None, tool="x", run=None)
    assert {k.scope for k in keys} == {
        KillSwitchScope.GLOBAL,
        KillSwitchScope.TENANT,
        KillSwitchScope.TOOL,
    }
    full = covering_keys(tenant="acme", agent="bot", tool="x", run="run-1")
    assert full[-1] == switch_key(KillSwitchScope.RUN, "run-1")
