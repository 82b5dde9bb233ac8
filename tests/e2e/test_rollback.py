"""`agentdeck rollback` end to end: a refund run is undone through ``cancel_refund``, once,
through policy like any call, and every call of the run is reported.

Run R refunds an order, then sends the customer note (an approver lets it go out).
The operator rolls R back through the CLI: the refund is cancelled in the desk by
exactly one ``cancel_refund`` call, and the report says the email was not undone
(irreversible, no compensation) and the lookup had nothing to undo. Asking again
changes nothing. With a kill switch on ``cancel_refund``, a rollback undoes
nothing and says why.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from agentdeck.approval import client
from agentdeck.cli.app import main
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.ids import rollback_run_id_for
from agentdeck.policy_checker.adapters.tables import SwitchRow
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from agentdeck.tool_executor.adapters.tables import EffectRow
from testkit.cli import point_cli_at
from testkit.kafka import wait_until

from .conftest import Platform, running_platform
from .gated import pending_approval, run_events, submit_refund

UNDONE, NOT_UNDONE, NOTHING = (
    m.RollbackOutcome.UNDONE,
    m.RollbackOutcome.NOT_UNDONE,
    m.RollbackOutcome.NOTHING_TO_UNDO,
)


def _status(platform: Platform, run_id: str) -> RunStatus | None:
    with platform.stack.store.transaction(read_only=True) as conn:
        run = RunsRepository().get(conn, run_id)
    return None if run is None else run.status


def _refund_and_notify(platform: Platform, run_id: str, reason: str) -> None:
    """Refund $10.00 of order 1042 and email the customer (an approver lets the email go)."""
    event = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": "1042", "amount_cents": 1000, "reason": reason, "send_email": True},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    wait_until(lambda: pending_approval(platform, run_id) is not None, 60, "the email parked")
    approval = pending_approval(platform, run_id)
    assert approval is not None
    client.approve(platform.info.approval_url, platform.token("alice"), approval, "ok")
    wait_until(lambda: _status(platform, run_id) is RunStatus.COMPLETED, 60, "the run completed")


def _rollback(run_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["rollback", "--run", run_id, "--reason", "refunded by mistake", "--timeout", "60"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _report(platform: Platform, rollback: str) -> m.RollbackReported:
    [report] = [e for e in run_events(platform, rollback) if isinstance(e, m.RollbackReported)]
    assert isinstance(report, m.RollbackReported)
    return report


def _effects(platform: Platform, tool: str) -> list[tuple[str, str]]:
    """(run, status) of every effect-ledger entry of ``tool``."""
    found = select(EffectRow.run_id, EffectRow.status).where(EffectRow.tool == tool)
    with platform.stack.store.transaction(read_only=True) as conn:
        return [(r.run_id, r.status) for r in conn.execute(found).all()]


def _switched_off(platform: Platform, tool: str) -> bool:
    """Whether the policy-checker holds the TOOL switch on ``tool`` engaged."""
    engaged = select(SwitchRow.engaged).where(
        SwitchRow.scope == m.KillSwitchScope.TOOL.value, SwitchRow.target == tool
    )
    with platform.stack.store.transaction(read_only=True) as conn:
        return bool(conn.execute(engaged).scalar())


def _refund_of(platform: Platform, reason: str) -> str:
    [refund] = [r for r in SqlDesk(platform.stack.store).refunds() if r.reason == reason]
    return refund.status


def test_a_rollback_cancels_the_refund_once_and_reports_every_call(
    cli_env: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = cli_env
    tag = uuid.uuid4().hex[:8]
    run_id, reason = f"rollback-{tag}", f"refund {tag}"
    _refund_and_notify(platform, run_id, reason)
    assert _refund_of(platform, reason) == "issued"

    rollback = rollback_run_id_for([run_id])
    code, out, err = _rollback(run_id, capsys)
    assert code == 1, out
    assert err == f"agentdeck: error: rollback {rollback}: calls not undone: 1 (see the report)\n"
    report = _report(platform, rollback)
    assert [(c.step_id, c.tool, c.outcome) for c in report.calls] == [
        ("notify", "send_email", NOT_UNDONE),
        ("draft", "draft_email", NOTHING),
        ("refund", "create_refund", UNDONE),
        ("lookup", "lookup_order", NOTHING),
    ]
    assert report.calls[0].reason == "send_email is irreversible and names no compensation"
    assert (report.undone, report.not_undone) == (1, 1)
    for words in ("send_email", "irreversible", "cancel_refund (undo_1) completed", "1 undone"):
        assert words in out
    assert _refund_of(platform, reason) == "cancelled"
    assert _effects(platform, "cancel_refund").count((rollback, "completed")) == 1
    assert _status(platform, rollback) is RunStatus.COMPLETED

    # Asking again names the same rollback run: the same report, no second cancel.
    again, out_again, _ = _rollback(run_id, capsys)
    assert again == 1
    assert "1 undone, 1 not undone" in out_again
    started = [e for e in run_events(platform, rollback) if isinstance(e, m.RunStarted)]
    assert len(started) == 1
    assert [r for r, _ in _effects(platform, "cancel_refund")].count(rollback) == 1

    # The rollback run replays from the log: `replay --verify` rebuilds its targets too.
    assert main(["replay", rollback, "--verify"]) == 0
    assert "planner decisions reproduce the recorded run" in capsys.readouterr().out
    assert main(["replay", "--all"]) == 0, capsys.readouterr().err


def test_a_kill_switch_on_the_compensation_stops_the_agents_rollback_and_the_report_says_so(
    bootstrap_servers: str,
    pg_admin: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running_platform(bootstrap_servers, pg_admin, tmp_path / "killed") as platform:
        point_cli_at(platform.info, monkeypatch)
        tag = uuid.uuid4().hex[:8]
        older, newer = f"rollback-{tag}-older", f"rollback-{tag}-newer"
        for run_id in (older, newer):
            submit_refund(platform, run_id, order="1042", cents=1000, reason=f"keep {run_id}")
            wait_until(lambda r=run_id: _status(platform, r) is RunStatus.COMPLETED, 60, run_id)
        kill = ["kill", "--scope", "tool", "--target", "cancel_refund", "--reason", "freeze"]
        assert main(kill) == 0
        wait_until(lambda: _switched_off(platform, "cancel_refund"), 10, "policy saw the switch")

        agents = ["--agent", "support-agent", "--last", "2", "--tenant", "acme"]
        code = main(["rollback", *agents, "--reason", "wrong refunds", "--timeout", "60"])
        out, err = capsys.readouterr()
        assert code == 1, out
        assert "calls not undone: 2" in err
        report = _report(platform, rollback_run_id_for([older, newer]))
        assert report.target_runs == (newer, older)
        refunds = [c for c in report.calls if c.tool == "create_refund"]
        assert [(c.run_id, c.outcome) for c in refunds] == [
            (newer, NOT_UNDONE),
            (older, NOT_UNDONE),
        ]
        assert refunds[0].reason == (
            "cancel_refund (undo_1) denied (policy_denied): the TOOL kill switch on"
            " cancel_refund is engaged by operator-1: freeze"
        )
        assert "not attempted" in refunds[1].reason
        assert {_refund_of(platform, f"keep {r}") for r in (older, newer)} == {"issued"}
        assert "completed" not in {s for _, s in _effects(platform, "cancel_refund")}

        # Either run again, in another rollback: refused, its calls were reported there.
        code = main(["rollback", "--run", older, "--reason", "again"])
        assert code == 1
        assert "was rolled back by rollback-" in capsys.readouterr().err
