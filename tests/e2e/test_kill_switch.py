"""Kill switches at the point of action, end to end: `agentdeck kill` stops calls already
allowed and calls already approved, and no approval is granted in the killed scope.

A refund of run A blocks inside the desk (the system of record) while the test
sets the scene, holding the executor's batch: run B's lookup is allowed but not
yet run, run C's parked refund is approved but not yet run, run D's refund waits
for an approver. Then the operator runs ``agentdeck kill`` through the CLI.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from agentdeck.approval import client
from agentdeck.cli.app import app
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.controls import SwitchView, switch_key
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.tool_executor.adapters.tables import EffectRow
from testkit.cli import point_cli_at
from testkit.kafka import wait_until

from .conftest import Platform, running_platform

HOLD = "hold the desk"
GATE_S = 8.0
"""Longest a held refund waits (create_refund's timeout is 10 s)."""


@dataclass
class Gate:
    """Holds the desk's refunds whose reason is ``HOLD`` until opened."""

    entered: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)


@dataclass
class Killable:
    """The platform, the desk's gate, and the executor's view of the switches."""

    platform: Platform
    gate: Gate
    executor_switches: SwitchView


@pytest.fixture(scope="module")
def killable(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Killable]:
    gate = Gate()
    views: list[SwitchView] = []

    class GatedDesk(SqlDesk):
        def create_refund(self, order_id: str, amount_cents: int, reason: str, *, key: str):  # type: ignore[no-untyped-def]
            if reason == HOLD:
                gate.entered.set()
                gate.opened.wait(GATE_S)
            return super().create_refund(order_id, amount_cents, reason, key=key)

    def executor_view() -> SwitchView:
        views.append(SwitchView())
        return views[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("agentdeck.cli.services.SqlDesk", GatedDesk)
        patch.setattr("agentdeck.tool_executor.main.SwitchView", executor_view)
        root: Path = tmp_path_factory.mktemp("kill")
        with running_platform(bootstrap_servers, pg_admin, root) as platform:
            [view] = views
            assert view.wait_caught_up(timeout_s=60), "the executor read the control topic"
            yield Killable(platform, gate, view)


def _submit(platform: Platform, run_id: str, *, order: str, cents: int, reason: str) -> str:
    event = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": order, "amount_cents": cents, "reason": reason},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    return run_id


def _events(platform: Platform, run_id: str) -> list[m.Event]:
    codec = platform.codec()
    store = platform.stack.store
    with store.transaction(read_only=True) as conn:
        return [codec.decode(a.payload) for a in store.archive.read_run(conn, run_id)]


def _pending(platform: Platform, run_id: str) -> str | None:
    views = client.list_pending(platform.info.approval_url, platform.token("alice"))
    return next((v.approval_id for v in views if v.run_id == run_id), None)


def _decided(platform: Platform, run_id: str, tool: str) -> bool:
    return any(
        isinstance(e, m.PolicyDecided) and e.tool == tool and e.outcome is m.DecisionOutcome.ALLOW
        for e in _events(platform, run_id)
    )


def _stopped(platform: Platform, run_id: str) -> list[m.ToolCallFailed]:
    return [
        e
        for e in _events(platform, run_id)
        if isinstance(e, m.ToolCallFailed) and e.failure.code == "kill_switch_engaged"
    ]


def _kill(scope: str, target: str, reason: str) -> None:
    result = CliRunner().invoke(
        app, ["kill", "--scope", scope, "--target", target, "--reason", reason]
    )
    assert result.exit_code == 0, result.output


def test_a_kill_stops_allowed_and_approved_calls_and_refuses_new_grants(
    killable: Killable, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, gate, view = killable.platform, killable.gate, killable.executor_switches
    point_cli_at(platform.info, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    run_c = _submit(platform, f"kill-{tag}-c", order="2077", cents=6000, reason="approved early")
    run_d = _submit(platform, f"kill-{tag}-d", order="2077", cents=6100, reason="approved late")
    wait_until(lambda: _pending(platform, run_c) and _pending(platform, run_d), 60, "two parked")
    approval_c, approval_d = _pending(platform, run_c), _pending(platform, run_d)
    assert approval_c is not None
    assert approval_d is not None

    run_a = _submit(platform, f"kill-{tag}-a", order="1042", cents=1000, reason=HOLD)
    assert gate.entered.wait(60), "run A's refund holds the executor"
    try:
        run_b = _submit(platform, f"kill-{tag}-b", order="1042", cents=1000, reason="late")
        wait_until(lambda: _decided(platform, run_b, "lookup_order"), 5, "run B's lookup allowed")
        client.approve(platform.info.approval_url, platform.token("alice"), approval_c, "ok")

        before = view.version
        _kill("tenant", "acme", f"incident {tag}")
        killed_at, killed_mono = datetime.now(UTC), time.monotonic()

        with pytest.raises(client.ApprovalApiError) as refused:
            client.approve(platform.info.approval_url, platform.token("alice"), approval_d)
        assert (refused.value.status, refused.value.error) == (409, "kill_switch_engaged")
        assert f"incident {tag}" in refused.value.message
        client.deny(platform.info.approval_url, platform.token("alice"), approval_d, "killed")

        assert view.wait_past(before, timeout_s=5), "the executor saw the switch"
        applied = view.applied_at(switch_key(m.KillSwitchScope.TENANT, "acme"))
        assert applied is not None
        print(
            f"\nexecutor applied the kill {1000 * (applied - killed_mono):.0f} ms after it returned"
        )
    finally:
        gate.opened.set()

    wait_until(lambda: _stopped(platform, run_b) and _stopped(platform, run_c), 60, "refusals")
    [lookup] = _stopped(platform, run_b)
    [refund] = _stopped(platform, run_c)
    assert (lookup.tool, refund.tool) == ("lookup_order", "create_refund")
    assert not refund.failure.retryable
    assert "TENANT:acme" in refund.failure.message
    assert f"incident {tag}" in refund.failure.message

    runs = [run_a, run_b, run_c, run_d]
    with platform.stack.store.transaction(read_only=True) as conn:
        columns = (EffectRow.idempotency_key, EffectRow.run_id, EffectRow.tool)
        found = select(*columns, EffectRow.status, EffectRow.started_at)
        rows = conn.execute(found.where(EffectRow.run_id.in_(runs))).all()
    late = [r for r in rows if r.started_at > killed_at + timedelta(seconds=1)]
    assert {r.status for r in late} <= {"failed"}, "no effect started after the kill"
    assert {r.idempotency_key for r in late} <= {lookup.idempotency_key, refund.idempotency_key}
    held = [r for r in rows if r.run_id == run_a and r.tool == "create_refund"]
    assert [r.started_at < killed_at for r in held] == [True], "run A's refund ran before"
    refunds = {r.reason for r in SqlDesk(platform.stack.store).refunds()}
    assert not {"approved early", "approved late"} & refunds, "no approved refund was made"


def test_every_kill_reaches_the_executor_within_a_second(
    killable: Killable, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_cli_at(killable.platform.info, monkeypatch)
    view = killable.executor_switches
    delays = []
    for n in range(15):
        target = f"probe-{uuid.uuid4().hex[:8]}-{n}"
        before = view.version
        _kill("tenant", target, "latency probe")
        returned = time.monotonic()
        assert view.wait_past(before, timeout_s=5)
        applied = view.applied_at(switch_key(m.KillSwitchScope.TENANT, target))
        assert applied is not None
        delays.append(applied - returned)
    delays.sort()
    p50, p99 = delays[len(delays) // 2], delays[-1]
    print(f"\nkill -> executor view: p50 {1000 * p50:.0f} ms, p99 (max of 15) {1000 * p99:.0f} ms")
    assert p99 < 1.0
