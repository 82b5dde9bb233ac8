"""`agentdeck cancel RUN` end to end: the run's parked and allowed calls are refused where
they would run, the run ends cancelled once, and its budget holds all end given back.

A refund of run A blocks inside the desk (the system of record) while the test
sets the scene, holding the executor's batch: run B's lookup is allowed but not
yet run. Run P's refund waits for an approver. The operator cancels B and P
through the CLI; then an approver tries to grant P's refund through the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from agentdeck.approval import client
from agentdeck.cli.app import main
from agentdeck.cli.replay import load_run
from agentdeck.contracts import models as m
from agentdeck.controls import switch_key
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import RunPhase
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.policy_checker.adapters.tables import BudgetReservationRow
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
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

PROJECTION = RunsRepository()


@pytest.fixture(scope="module")
def cancellable(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gated]:
    with gated_platform(
        bootstrap_servers, pg_admin, tmp_path_factory.mktemp("cancellable")
    ) as gated:
        yield gated


def _of(platform: Platform, run_id: str, kind: type[m.Event]) -> list[m.Event]:
    return [e for e in run_events(platform, run_id) if isinstance(e, kind)]


def _status(platform: Platform, run_id: str) -> RunStatus | None:
    with platform.stack.store.transaction(read_only=True) as conn:
        run = PROJECTION.get(conn, run_id)
    return None if run is None else run.status


def _holds(platform: Platform, runs: list[str]) -> dict[str, str]:
    """The status of every budget reservation the runs' decisions took."""
    ids = [
        e.reservation_id
        for run in runs
        for e in _of(platform, run, m.PolicyDecided)
        if isinstance(e, m.PolicyDecided) and e.reservation_id
    ]
    found = select(BudgetReservationRow.reservation_id, BudgetReservationRow.status)
    with platform.stack.store.transaction(read_only=True) as conn:
        rows = conn.execute(found.where(BudgetReservationRow.reservation_id.in_(ids))).all()
    return {r.reservation_id: r.status for r in rows}


def _reservation(platform: Platform, run_id: str, tool: str) -> str:
    """The budget reservation of the run's (one) decision on ``tool``."""
    [decided] = [e for e in _of(platform, run_id, m.PolicyDecided) if e.tool == tool]  # type: ignore[attr-defined]
    assert isinstance(decided, m.PolicyDecided)
    assert decided.reservation_id is not None, f"{tool} held budget"
    return decided.reservation_id


def _cancel(run_id: str, reason: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["cancel", run_id, "--reason", reason])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.latency
def test_a_cancel_refuses_the_runs_parked_and_allowed_calls_and_ends_them_cancelled(
    cancellable: Gated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform, gate, view = cancellable.platform, cancellable.gate, cancellable.executor_switches
    point_cli_at(platform.info, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    run_p = submit_refund(platform, f"cancel-{tag}-p", order="2077", cents=6000, reason="parked")
    wait_until(lambda: pending_approval(platform, run_p) is not None, 60, "run P's refund parked")
    wait_until(lambda: _status(platform, run_p) is RunStatus.WAITING_APPROVAL, 30, "P projected")
    approval_p = pending_approval(platform, run_p)
    assert approval_p is not None

    submit_refund(platform, f"cancel-{tag}-a", order="1042", cents=1000, reason=HOLD)
    assert gate.entered.wait(60), "run A's refund holds the executor"
    try:
        run_b = submit_refund(platform, f"cancel-{tag}-b", order="1042", cents=1000, reason="late")
        wait_until(lambda: allowed(platform, run_b, "lookup_order"), 5, "run B's lookup allowed")
        wait_until(lambda: _status(platform, run_b) is RunStatus.RUNNING, 5, "B projected")

        before = view.version
        returned = {}
        for run in (run_b, run_p):
            assert _cancel(run, f"withdrawn {tag}", capsys) == (0, "")
            returned[run] = datetime.now(UTC)

        # Approval applies the cancel from its own view of the control topic, within a second.
        parked = switch_key(m.KillSwitchScope.RUN, run_p)
        wait_applied(cancellable.approval_switches, parked, within_s=1.0, what="approval")
        with pytest.raises(client.ApprovalApiError) as refused:
            client.approve(platform.info.approval_url, platform.token("alice"), approval_p)
        assert (refused.value.status, refused.value.error) == (409, "run_cancelled")
        assert f"withdrawn {tag}" in refused.value.message

        key = switch_key(m.KillSwitchScope.RUN, run_b)
        wait_until(lambda: view.applied_at(key) is not None, 5, "the executor saw B's cancel")
        assert view.version > before
    finally:
        gate.opened.set()

    wait_until(lambda: _of(platform, run_b, m.ToolCallFailed), 30, "B's lookup refused")
    [lookup] = _of(platform, run_b, m.ToolCallFailed)
    assert isinstance(lookup, m.ToolCallFailed)
    assert (lookup.tool, lookup.failure.code) == ("lookup_order", "run_cancelled")
    _ended_cancelled_once(platform, [run_b, run_p], f"withdrawn {tag}")
    _no_effect_started_after(platform, returned, refused_key=lookup.idempotency_key)
    assert "parked" not in {r.reason for r in SqlDesk(platform.stack.store).refunds()}
    parked = _reservation(platform, run_p, "create_refund")
    _holds_given_back(
        platform, [run_b, run_p], {parked, _reservation(platform, run_b, "lookup_order")}
    )
    for run in (run_b, run_p):  # the switch is archived with the run: its replay ends the same
        replayed = replay_run(
            load_run(platform.stack.store, run, platform.codec()),
            playbooks=bundled_playbooks(),
            tools=tool_infos(demo_registry()),
        )
        assert replayed.divergence is None
        assert replayed.state is not None
        assert replayed.state.phase is RunPhase.CANCELLED


def _ended_cancelled_once(platform: Platform, runs: list[str], reason: str) -> None:
    for run in runs:
        wait_until(lambda r=run: _status(platform, r) is RunStatus.CANCELLED, 30, f"{run} ended")
        [cancelled] = _of(platform, run, m.RunCancelled)
        assert isinstance(cancelled, m.RunCancelled)
        assert cancelled.reason == reason
        assert not _of(platform, run, m.RunFailed)
        assert not _of(platform, run, m.RunCompleted)


def _no_effect_started_after(
    platform: Platform, returned: dict[str, datetime], *, refused_key: str
) -> None:
    """No call of the runs began after their cancel returned, but the refused one (not run)."""
    with platform.stack.store.transaction(read_only=True) as conn:
        columns = (EffectRow.idempotency_key, EffectRow.run_id, EffectRow.status)
        found = select(*columns, EffectRow.started_at).where(EffectRow.run_id.in_(returned))
        rows = conn.execute(found).all()
    late = [r for r in rows if r.started_at > returned[r.run_id]]
    assert {r.status for r in late} <= {"failed"}, "no effect of a cancelled run started"
    assert {r.idempotency_key for r in late} <= {refused_key}


def _holds_given_back(platform: Platform, runs: list[str], given_back: set[str]) -> None:
    """No hold of the runs stays reserved: ``given_back``'s are released, the rest settled."""
    wait_until(
        lambda: "reserved" not in _holds(platform, runs).values(), 30, "the runs' holds ended"
    )
    holds = _holds(platform, runs)
    assert {holds[r] for r in given_back} == {"released"}, "the parked and the refused call's"
    ran = set(holds) - given_back  # P's lookup, run before the cancel
    assert {holds[r] for r in ran} <= {"settled"}


def test_cancelling_an_unknown_or_finished_run_is_one_clear_line_and_fails(
    cancellable: Gated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = cancellable.platform
    point_cli_at(platform.info, monkeypatch)
    code, err = _cancel(f"no-such-run-{uuid.uuid4().hex[:8]}", "typo", capsys)
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("agentdeck: error: no run no-such-run-")

    run = f"cancel-{uuid.uuid4().hex[:8]}-done"
    submit_refund(platform, run, order="1042", cents=1000, reason="ok")
    wait_until(lambda: _status(platform, run) is RunStatus.COMPLETED, 60, "the run completed")
    code, err = _cancel(run, "too late", capsys)
    assert code == 1
    assert err == f"agentdeck: error: run {run} already ended completed: nothing to cancel\n"
    assert not _of(platform, run, m.RunCancelled)
