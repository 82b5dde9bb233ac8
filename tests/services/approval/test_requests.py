"""Contract: approval requests and decisions, on every backend."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, Engine

from agentdeck.approval.adapters.requests import ApprovalRequest, ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.store import transaction

if TYPE_CHECKING:
    from testkit.sql import NewId

approvals = ApprovalsRepository()


def request(approval_id: str, run_id: str, at: datetime, deadline: timedelta) -> ApprovalRequest:
    return ApprovalRequest(
        approval_id=approval_id,
        run_id=run_id,
        step_id="step-3",
        tool="refund_order",
        payload_hash="sha256:1234",
        requested_by="agent:refunds",
        risk_band="high",
        deadline=at + deadline,
        created_at=at,
    )


def grant(conn: Connection, approval_id: str, who: str, at: datetime) -> bool:
    return approvals.decide(
        conn,
        approval_id,
        status=ApprovalStatus.GRANTED,
        decided_by=who,
        decider_role="finance-lead",
        decided_at=at,
        comment="looks right",
    )


def test_a_new_request_is_pending_at_level_zero(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    with transaction(engine) as conn:
        assert approvals.create(conn, asked)
        stored = approvals.get(conn, asked.approval_id)
    assert stored is not None
    assert (stored.status, stored.escalation_level, stored.decided_by) == (
        ApprovalStatus.PENDING,
        0,
        None,
    )
    assert stored.deadline == asked.deadline


def test_creating_the_same_request_twice_keeps_the_first(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    with transaction(engine) as conn:
        approvals.create(conn, asked)
        grant(conn, asked.approval_id, "alice", now)
        assert not approvals.create(conn, asked)
        stored = approvals.get(conn, asked.approval_id)
    assert stored is not None
    assert stored.status is ApprovalStatus.GRANTED


def test_a_decision_is_recorded_with_the_decider(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    with transaction(engine) as conn:
        approvals.create(conn, asked)
        assert grant(conn, asked.approval_id, "alice", now + timedelta(minutes=5))
        stored = approvals.get(conn, asked.approval_id)
    assert stored is not None
    assert (stored.status, stored.decided_by, stored.decider_role, stored.comment) == (
        ApprovalStatus.GRANTED,
        "alice",
        "finance-lead",
        "looks right",
    )
    assert stored.decided_at == now + timedelta(minutes=5)


def test_a_decided_approval_cannot_be_decided_again(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    with transaction(engine) as conn:
        approvals.create(conn, asked)
        assert grant(conn, asked.approval_id, "alice", now)
        assert not approvals.decide(
            conn,
            asked.approval_id,
            status=ApprovalStatus.DENIED,
            decided_by="bob",
            decider_role="cfo",
            decided_at=now,
        )
        stored = approvals.get(conn, asked.approval_id)
    assert stored is not None
    assert stored.decided_by == "alice"


def test_of_two_racing_approvers_exactly_one_wins(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    with transaction(engine) as conn:
        approvals.create(conn, asked)
    barrier = threading.Barrier(2, timeout=10)

    def decide(who: str) -> bool:
        barrier.wait()
        with transaction(engine) as conn:
            return grant(conn, asked.approval_id, who, now)

    with ThreadPoolExecutor(2) as pool:
        outcomes = dict(zip(["alice", "bob"], pool.map(decide, ["alice", "bob"]), strict=True))
    with transaction(engine) as conn:
        stored = approvals.get(conn, asked.approval_id)

    assert sorted(outcomes.values()) == [False, True]
    assert stored is not None
    assert outcomes[stored.decided_by or ""]


def test_only_a_decision_can_close_an_approval(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    with pytest.raises(ValueError, match="not a decision"), transaction(engine) as conn:
        approvals.decide(
            conn,
            new_id("appr"),
            status=ApprovalStatus.ESCALATED,
            decided_by="alice",
            decider_role="lead",
            decided_at=now,
        )


def test_due_lists_open_approvals_past_their_deadline(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    overdue = request(new_id("appr"), run_id, now, timedelta(hours=-2))
    decided = request(new_id("appr"), run_id, now, timedelta(hours=-1))
    not_yet = request(new_id("appr"), run_id, now, timedelta(hours=1))
    with transaction(engine) as conn:
        for asked in (overdue, decided, not_yet):
            approvals.create(conn, asked)
        grant(conn, decided.approval_id, "alice", now)
        due = approvals.due(conn, now, limit=10_000)
    due_here = [approval.approval_id for approval in due if approval.run_id == run_id]
    assert due_here == [overdue.approval_id]


def test_list_pending_shows_open_approvals_earliest_deadline_first(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run_id = new_id("run")
    later = request(new_id("appr"), run_id, now, timedelta(hours=3))
    sooner = request(new_id("appr"), run_id, now, timedelta(hours=1))
    closed = request(new_id("appr"), run_id, now, timedelta(hours=2))
    with transaction(engine) as conn:
        for asked in (later, sooner, closed):
            approvals.create(conn, asked)
        grant(conn, closed.approval_id, "alice", now)
        pending = approvals.list_pending(conn, run_id=run_id)
    assert [a.approval_id for a in pending] == [sooner.approval_id, later.approval_id]


def test_escalation_moves_up_one_level_once_and_stays_decidable(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    asked = request(new_id("appr"), new_id("run"), now, timedelta(hours=1))
    new_deadline = now + timedelta(hours=5)
    with transaction(engine) as conn:
        approvals.create(conn, asked)
        assert approvals.escalate(conn, asked.approval_id, from_level=0, new_deadline=new_deadline)
        assert not approvals.escalate(
            conn, asked.approval_id, from_level=0, new_deadline=new_deadline
        )
        escalated = approvals.get(conn, asked.approval_id)
        assert grant(conn, asked.approval_id, "carol", now)
    assert escalated is not None
    assert (escalated.status, escalated.escalation_level, escalated.deadline) == (
        ApprovalStatus.ESCALATED,
        1,
        new_deadline,
    )
