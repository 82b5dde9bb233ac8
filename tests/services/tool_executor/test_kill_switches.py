"""Kill switches at the point of action: a call an engaged switch covers is never run."""

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from agentdeck.contracts.models import (
    DecisionOutcome,
    KillSwitchScope,
    ToolCallCompleted,
    ToolCallFailed,
)
from agentdeck.controls import SwitchesLoading, SwitchView
from agentdeck.tool_executor.adapters.effects import EffectLedger
from agentdeck.tool_executor.adapters.running import RunningCalls
from agentdeck.tools import ToolCancelled, ToolContext, ToolRegistry
from testkit.controls import kill_switch
from testkit.kafka import wait_until

from .conftest import caught_up

EFFECTS = EffectLedger()


def _refund() -> dict[str, object]:
    return {"order_id": "1042", "amount_cents": 1000, "reason": f"late {uuid.uuid4().hex}"}


def _made(desk, refund) -> bool:  # type: ignore[no-untyped-def]
    return any(r.reason == refund["reason"] for r in desk.refunds())


def _killed(scope: KillSwitchScope, target: str) -> SwitchView:
    view = caught_up()
    view.apply([kill_switch(scope, target, at=datetime.now(UTC))])
    return view


def _status(store, key):  # type: ignore[no-untyped-def]
    with store.transaction(read_only=True) as conn:
        entry = EFFECTS.get(conn, key)
    return None if entry is None else entry.status


def _refused_by_the_switch(event) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(event, ToolCallFailed)
    assert event.failure.code == "kill_switch_engaged"
    assert event.failure.retryable is False
    assert "TENANT:acme" in event.failure.message
    assert "oncall" in event.failure.message
    assert "incident 42" in event.failure.message


def test_an_allowed_call_in_a_killed_tenant_is_not_run(authority, make_executor, desk, store):
    executor = make_executor(switches=_killed(KillSwitchScope.TENANT, "acme"))
    refund = _refund()
    decision = authority.decision("create_refund", refund)
    [event] = executor.handle(decision)
    _refused_by_the_switch(event)
    assert not _made(desk, refund), "the refund was never made"
    assert _status(store, decision.idempotency_key) == "failed"


def test_a_parked_call_granted_after_the_kill_is_not_run(authority, make_executor, desk):
    switches = caught_up()
    executor = make_executor(switches=switches)
    refund = _refund()
    parked = authority.decision("create_refund", refund, outcome=DecisionOutcome.REQUIRE_APPROVAL)
    assert executor.handle(parked) == []
    switches.apply([kill_switch(KillSwitchScope.TENANT, "acme", at=datetime.now(UTC))])
    [event] = executor.handle(authority.grant(parked))
    _refused_by_the_switch(event)
    assert not _made(desk, refund)


def test_a_switch_engaged_after_the_batch_began_stops_the_calls_not_yet_run(
    authority, make_executor, store
):
    # The first call engages the switch as it runs; the second, begun in the same
    # batch, is caught by the check right before its tool would run.
    switches = caught_up()
    ran: list[str] = []
    registry = ToolRegistry()

    class Step(BaseModel):
        name: str

    @registry.tool(version="1.0")
    def act(args: Step, ctx: ToolContext) -> Step:
        ran.append(args.name)
        switches.apply([kill_switch(KillSwitchScope.TENANT, "acme", at=datetime.now(UTC))])
        return args

    executor = make_executor(tools=registry, switches=switches)
    first = authority.decision("act", {"name": "first"}, run_id="run-kill-mid", step="a")
    second = authority.decision("act", {"name": "second"}, run_id="run-kill-mid", step="b")
    done, stopped = executor.handle(first, second)
    assert isinstance(done, ToolCallCompleted)
    _refused_by_the_switch(stopped)
    assert ran == ["first"]
    assert _status(store, second.idempotency_key) == "failed"


def test_other_tenants_and_released_switches_do_not_stop_a_call(authority, make_executor):
    switches = _killed(KillSwitchScope.TENANT, "globex")
    executor = make_executor(switches=switches)
    [event] = executor.handle(authority.decision("lookup_order", {"order_id": "1042"}))
    assert isinstance(event, ToolCallCompleted)
    switches.apply(
        [kill_switch(KillSwitchScope.TENANT, "acme", engaged=False, at=datetime.now(UTC))]
    )
    [event] = executor.handle(authority.decision("lookup_order", {"order_id": "1042"}))
    assert isinstance(event, ToolCallCompleted)


def test_nothing_runs_before_the_switches_are_read(authority, make_executor, desk, store):
    switches = SwitchView()
    executor = make_executor(switches=switches, switches_wait_s=0.0)
    refund = _refund()
    decision = authority.decision("create_refund", refund)
    with pytest.raises(SwitchesLoading) as caught:
        executor.handle(decision)
    assert caught.value.retryable
    assert not _made(desk, refund)
    assert _status(store, decision.idempotency_key) is None, "nothing began"
    switches.mark_caught_up()
    [event] = executor.handle(decision)
    assert isinstance(event, ToolCallCompleted)
    assert _made(desk, refund)


def test_a_call_waiting_for_a_concurrency_slot_is_stopped_once_it_gets_one(
    authority, make_executor, store
):
    # The switch is engaged while the call waits for the tool's only slot, after its
    # admission checks passed: the check right before the tool runs must still stop it.
    switches = caught_up()
    entered, release = threading.Event(), threading.Event()
    ran: list[str] = []
    registry = ToolRegistry()

    class Step(BaseModel):
        name: str

    @registry.tool(version="1.0", max_concurrency=1, timeout_s=10.0)
    def single(args: Step, ctx: ToolContext) -> Step:
        ran.append(args.name)
        if args.name == "holder":
            entered.set()
            release.wait(10)
        return args

    executor = make_executor(tools=registry, switches=switches)
    holder = authority.decision("single", {"name": "holder"})
    waiter = authority.decision("single", {"name": "waiter"})
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(executor.handle, holder)
        assert entered.wait(10)
        waiting = pool.submit(executor.handle, waiter)
        wait_until(lambda: _status(store, waiter.idempotency_key) == "started", 10, "waiter begun")
        switches.apply([kill_switch(KillSwitchScope.TENANT, "acme", at=datetime.now(UTC))])
        release.set()
        [done], [stopped] = held.result(10), waiting.result(10)
    assert isinstance(done, ToolCallCompleted)
    _refused_by_the_switch(stopped)
    assert ran == ["holder"]


def test_a_cancelled_runs_calls_are_refused_as_cancelled_and_other_runs_calls_run(
    authority, make_executor, desk
):
    executor = make_executor(switches=_killed(KillSwitchScope.RUN, "run-cancelled"))
    mine, other = _refund(), _refund()
    [refused] = executor.handle(authority.decision("create_refund", mine, run_id="run-cancelled"))
    assert isinstance(refused, ToolCallFailed)
    assert refused.failure.code == "run_cancelled"
    assert refused.failure.retryable is False
    assert "run run-cancelled was cancelled" in refused.failure.message
    assert not _made(desk, mine)
    [ran] = executor.handle(authority.decision("create_refund", other))
    assert isinstance(ran, ToolCallCompleted)
    assert _made(desk, other)


@contextlib.contextmanager
def _following(switches: SwitchView) -> Iterator[RunningCalls]:
    """Running calls whose cancel signals follow ``switches``, as the executor's task does."""
    running, stop = RunningCalls(switches), threading.Event()
    follower = threading.Thread(target=running.follow, args=(stop,), daemon=True)
    follower.start()
    try:
        yield running
    finally:
        stop.set()
        follower.join(5)


def _waiting_tool(entered: threading.Event, *, heeds: bool) -> ToolRegistry:
    """A tool that works until its cancel signal (``heeds``) or for 10 s, whichever is first."""
    registry = ToolRegistry()

    class Step(BaseModel):
        name: str
        stopped: bool = False

    @registry.tool(version="1.0", timeout_s=20.0)
    def long_task(args: Step, ctx: ToolContext) -> Step:
        entered.set()
        if not heeds:
            time.sleep(1.0)
            return args
        if ctx.cancelled.wait(10):
            raise ToolCancelled("told to stop")
        return args

    return registry


def test_a_running_call_of_a_cancelled_run_gets_its_signal_and_is_recorded_stopped(
    authority, make_executor, store
):
    switches, entered = caught_up(), threading.Event()
    with _following(switches) as running, ThreadPoolExecutor(1) as pool:
        executor = make_executor(
            tools=_waiting_tool(entered, heeds=True), switches=switches, running=running
        )
        decision = authority.decision("long_task", {"name": "a"}, run_id="run-stop-me")
        handled = pool.submit(executor.handle, decision)
        assert entered.wait(10)
        switches.apply([kill_switch(KillSwitchScope.RUN, "run-stop-me", at=datetime.now(UTC))])
        [event] = handled.result(8)  # the tool would have worked on for 10 s
    assert isinstance(event, ToolCallFailed)
    assert event.failure.code == "run_cancelled"
    assert "stopped while running" in event.failure.message
    assert "what it did before it stopped stands" in event.failure.message
    assert _status(store, decision.idempotency_key) == "failed"


def test_a_running_call_a_switch_does_not_cover_is_not_signalled(authority):
    switches = caught_up()
    with _following(switches) as running:
        decision = authority.decision("long_task", {"name": "a"}, run_id="run-keep-me")
        with running.watch(decision) as call:
            switches.apply([kill_switch(KillSwitchScope.TENANT, "globex", at=datetime.now(UTC))])
            switches.apply([kill_switch(KillSwitchScope.RUN, "run-other", at=datetime.now(UTC))])
            assert not call.signal.wait(1.0)
            switches.apply([kill_switch(KillSwitchScope.TOOL, "long_task", at=datetime.now(UTC))])
            assert call.signal.wait(5)
            assert call.switch is not None
            assert call.switch.scope is KillSwitchScope.TOOL


def test_a_call_that_ignores_its_signal_is_recorded_as_it_ended(authority, make_executor, store):
    switches, entered = caught_up(), threading.Event()
    with _following(switches) as running, ThreadPoolExecutor(1) as pool:
        executor = make_executor(
            tools=_waiting_tool(entered, heeds=False), switches=switches, running=running
        )
        decision = authority.decision("long_task", {"name": "a"}, run_id="run-deaf")
        handled = pool.submit(executor.handle, decision)
        assert entered.wait(10)
        switches.apply([kill_switch(KillSwitchScope.RUN, "run-deaf", at=datetime.now(UTC))])
        [event] = handled.result(10)
    assert isinstance(event, ToolCallCompleted), "it ran to its end: that is what is recorded"
    assert _status(store, decision.idempotency_key) == "completed"
