"""A run's deadline is enforced while it waits: a refund parked for an approver past the run's
deadline ends the run failed (deadline_exceeded) with nothing else happening, its approval
case is closed so nobody can grant the call any more, and its budget hold is given back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from agentdeck.approval import client
from agentdeck.cli.replay import load_run
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.policy_checker.adapters.tables import BudgetReservationRow
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from testkit.kafka import wait_until

from .conftest import Platform, running_platform
from .gated import pending_approval, run_events

DEADLINE_S = 8
"""Long enough for the refund to park first on a loaded machine (the test checks it did)."""


@pytest.fixture(scope="module")
def platform(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("deadline")
    env = {"AGENTDECK_PLANNER_REDRIVE_INTERVAL_S": "0.2"}
    with running_platform(bootstrap_servers, pg_admin, root, env) as running:
        yield running


def _status(platform: Platform, run_id: str) -> RunStatus | None:
    with platform.stack.store.transaction(read_only=True) as conn:
        run = RunsRepository().get(conn, run_id)
    return None if run is None else run.status


def test_a_run_parked_past_its_deadline_fails_and_its_approval_can_no_longer_be_granted(
    platform: Platform,
) -> None:
    run_id = f"deadline-{uuid.uuid4().hex[:8]}"
    deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_S)
    goal = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": "2077", "amount_cents": 6000, "reason": "parked"},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(deadline=deadline),
    )
    publish_goal(platform.info, goal)
    wait_until(lambda: pending_approval(platform, run_id) is not None, 30, "the refund parked")
    approval_id = pending_approval(platform, run_id)
    assert approval_id is not None
    assert datetime.now(UTC) < deadline, "parked before the deadline (raise DEADLINE_S)"

    wait_until(lambda: _status(platform, run_id) is RunStatus.FAILED, 30, "the run failed")
    events = run_events(platform, run_id)
    [failed] = [e for e in events if isinstance(e, m.RunFailed)]
    assert isinstance(failed, m.RunFailed)
    assert failed.failure.code == "deadline_exceeded"
    assert failed.envelope.occurred_at >= deadline
    [timer] = [e for e in events if isinstance(e, m.RunDeadlineReached)]
    assert failed.envelope.causation_id == timer.envelope.event_id

    # Nobody may grant a call of a run that is over: its case expired with the run.
    wait_until(lambda: pending_approval(platform, run_id) is None, 10, "the case closed")
    with pytest.raises(client.ApprovalApiError) as refused:
        client.approve(platform.info.approval_url, platform.token("alice"), approval_id)
    assert refused.value.status in {404, 409}
    wait_until(lambda: _hold(platform, run_id) == "released", 10, "the refund's hold given back")

    replayed = replay_run(
        load_run(platform.stack.store, run_id, platform.codec()),
        playbooks=bundled_playbooks(),
        tools=tool_infos(demo_registry()),
    )
    assert replayed.divergence is None


def _hold(platform: Platform, run_id: str) -> str | None:
    """The status of the budget hold of the run's refund decision."""
    decided = [
        e
        for e in run_events(platform, run_id)
        if isinstance(e, m.PolicyDecided) and e.tool == "create_refund" and e.reservation_id
    ]
    if not decided:
        return None
    found = select(BudgetReservationRow.status).where(
        BudgetReservationRow.reservation_id == decided[0].reservation_id
    )
    with platform.stack.store.transaction(read_only=True) as conn:
        return conn.execute(found).scalar()
