"""Kill switches at the point of action, end to end: `agentdeck kill` stops calls already
allowed and calls already approved, and no approval is granted in the killed scope.

A refund of run A blocks inside the desk (the system of record) while the test
sets the scene, holding the executor's batch: run B's lookup is allowed but not
yet run, run C's parked refund is approved but not yet run, run D's refund waits
for an approver. Then the operator runs ``agentdeck kill`` through the CLI.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from agentdeck.approval import client
from agentdeck.cli.app import app
from agentdeck.contracts import models as m
from agentdeck.controls import switch_key
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.tool_executor.adapters.tables import EffectRow
from testkit.cli import point_cli_at
from testkit.kafka import wait_until

from .conftest import Platform
from .gated import (
    HOLD,
    Gated,
    allowed,
    gated_platform,
    pending_approval,
    run_events,
    submit_refund,
    wait_applied,
)

TENANT_ACME = switch_key(m.KillSwitchScope.TENANT, "acme")


@pytest.fixture(scope="module")
def killable(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gated]:
    root = tmp_path_factory.mktemp("kill")
    with gated_platform(bootstrap_servers, pg_admin, root) as gated:
        yield gated


def _stopped(platform: Platform, run_id: str) -> list[m.ToolCallFailed]:
    return [
        e
        for e in run_events(platform, run_id)
        if isinstance(e, m.ToolCallFailed) and e.failure.code == "kill_switch_engaged"
    ]


def _kill(scope: str, target: str, reason: str) -> None:
    result = CliRunner().invoke(
        app, ["kill", "--scope", scope, "--target", target, "--reason", reason]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.latency
def test_a_kill_stops_allowed_and_approved_calls_and_refuses_new_grants(
    killable: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, gate, view = killable.platform, killable.gate, killable.executor_switches
    point_cli_at(platform.info, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    run_c = submit_refund(
        platform, f"kill-{tag}-c", order="2077", cents=6000, reason="approved early"
    )
    run_d = submit_refund(
        platform, f"kill-{tag}-d", order="2077", cents=6100, reason="approved late"
    )
    wait_until(
        lambda: pending_approval(platform, run_c) and pending_approval(platform, run_d),
        60,
        "two parked",
    )
    approval_c, approval_d = pending_approval(platform, run_c), pending_approval(platform, run_d)
    assert approval_c is not None
    assert approval_d is not None

    run_a = submit_refund(platform, f"kill-{tag}-a", order="1042", cents=1000, reason=HOLD)
    assert gate.entered.wait(60), "run A's refund holds the executor"
    try:
        run_b = submit_refund(platform, f"kill-{tag}-b", order="1042", cents=1000, reason="late")
        wait_until(lambda: allowed(platform, run_b, "lookup_order"), 5, "run B's lookup allowed")
        client.approve(platform.info.approval_url, platform.token("alice"), approval_c, "ok")

        before = view.version
        _kill("tenant", "acme", f"incident {tag}")
        killed_at, killed_mono = datetime.now(UTC), time.monotonic()

        # Approval applies switches from its own view of the control topic, within a second.
        wait_applied(killable.approval_switches, TENANT_ACME, within_s=1.0, what="approval")
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


@pytest.mark.latency
def test_every_kill_reaches_the_executor_within_a_second(
    killable: Gated, monkeypatch: pytest.MonkeyPatch
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
