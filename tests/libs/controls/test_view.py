"""The in-memory view of the switches a service reads right before it acts."""

import threading
from datetime import timedelta

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.controls import SwitchView, switch_key
from testkit.controls import kill_switch
from testkit.kafka import NOW


def test_a_view_is_not_caught_up_until_told() -> None:
    view = SwitchView()
    assert not view.caught_up
    assert not view.wait_caught_up(0)
    view.mark_caught_up()
    assert view.wait_caught_up(0)


def test_an_engaged_switch_covers_until_a_newer_release() -> None:
    view = SwitchView()
    view.apply([kill_switch(KillSwitchScope.TENANT, "acme")])
    assert view.covering(tenant="acme", agent=None, tool="x", run=None) is not None
    view.apply([kill_switch(KillSwitchScope.TENANT, "acme", engaged=False, at=NOW + timedelta(1))])
    assert view.covering(tenant="acme", agent=None, tool="x", run=None) is None


def test_a_late_release_older_than_the_engagement_changes_nothing() -> None:
    view = SwitchView()
    view.apply([kill_switch(KillSwitchScope.TOOL, "send_email", at=NOW + timedelta(1))])
    before = view.version
    changed = view.apply([kill_switch(KillSwitchScope.TOOL, "send_email", engaged=False)])
    assert changed == []
    assert view.version == before
    assert view.covering(tenant="acme", agent=None, tool="send_email", run=None) is not None


def test_the_same_switch_read_again_changes_nothing() -> None:
    view = SwitchView()
    event = kill_switch(KillSwitchScope.TENANT, "acme")
    view.apply([event])
    version = view.version
    assert view.apply([event]) == []
    assert view.version == version


def test_a_waiter_wakes_when_a_switch_arrives_from_another_thread() -> None:
    view = SwitchView()
    version = view.version
    key = switch_key(KillSwitchScope.AGENT, "bot")
    thread = threading.Thread(
        target=view.apply, args=([kill_switch(KillSwitchScope.AGENT, "bot")],)
    )
    thread.start()
    assert view.wait_past(version, timeout_s=5)
    thread.join()
    assert view.applied_at(key) is not None
    assert [s.target for s in view.switches()] == ["bot"]


def test_a_run_switch_in_the_view_covers_its_runs_calls_only() -> None:
    view = SwitchView()
    view.apply([kill_switch(KillSwitchScope.TENANT, f"t{n}") for n in range(50)])
    view.apply([kill_switch(KillSwitchScope.RUN, "run-1")])
    found = view.covering(tenant="acme", agent=None, tool="x", run="run-1")
    assert found is not None
    assert found.scope is KillSwitchScope.RUN
    assert view.covering(tenant="acme", agent=None, tool="x", run="run-2") is None
