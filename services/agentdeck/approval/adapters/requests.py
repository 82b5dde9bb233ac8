"""Durable approval requests and their race-free decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, bindparam, select, update

from agentdeck.approval.adapters.tables import OPEN_APPROVAL_STATUSES, ApprovalRow, ApprovalStatus
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of

if TYPE_CHECKING:
    from agentdeck.store.sql import AnySelect

__all__ = ["Approval", "ApprovalRequest", "ApprovalsRepository"]

_DECISIONS = frozenset({ApprovalStatus.GRANTED, ApprovalStatus.DENIED, ApprovalStatus.EXPIRED})
_OPEN = tuple(status.value for status in OPEN_APPROVAL_STATUSES)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequest:
    """A request for a human decision on one exact tool call.

    Attributes:
        approval_id: Deterministic id of the request.
        run_id: Run waiting for the decision.
        step_id: Step waiting for the decision.
        tool: Tool the call would run.
        payload_hash: Hash of the exact call payload the decision applies to.
        requested_by: Identity that asked (it may not approve its own request).
        risk_band: Risk band assigned by policy.
        deadline: When the request expires or escalates.
        created_at: When it was requested.
    """

    approval_id: str
    run_id: str
    step_id: str
    tool: str
    payload_hash: str
    requested_by: str
    risk_band: str
    deadline: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval(ApprovalRequest):
    """An approval request and where it stands.

    Attributes:
        status: ``pending`` or ``escalated`` while open; then the decision.
        escalation_level: 0, plus one per escalation.
        decided_by: Identity that decided.
        decider_role: Role the decider acted in.
        decided_at: When it was decided.
        comment: The decider's comment.
    """

    status: ApprovalStatus
    escalation_level: int
    decided_by: str | None
    decider_role: str | None
    decided_at: datetime | None
    comment: str | None


_TABLE = table_of(ApprovalRow)
_COLUMNS = tuple(_TABLE.c)
_ID = _TABLE.c.approval_id == bindparam("target_id")
_IS_OPEN = _TABLE.c.status.in_(_OPEN)
_GET = select(*_COLUMNS).where(_ID)
_DECIDE = (
    update(_TABLE)
    .where(_ID, _IS_OPEN)
    .values(
        status=bindparam("decision"),
        decided_by=bindparam("decider"),
        decider_role=bindparam("role"),
        decided_at=bindparam("at"),
        comment=bindparam("note"),
    )
)
_ESCALATE = (
    update(_TABLE)
    .where(_ID, _IS_OPEN, _TABLE.c.escalation_level == bindparam("from_level"))
    .values(
        status=ApprovalStatus.ESCALATED.value,
        escalation_level=_TABLE.c.escalation_level + 1,
        deadline=bindparam("new_deadline"),
    )
)


@per_dialect
def _insert_new(insert: InsertFactory) -> AnyInsert:
    return insert(_TABLE).on_conflict_do_nothing()


class ApprovalsRepository:
    """Stores approval requests and decisions. Stateless; pass the connection."""

    def create(self, conn: Connection, request: ApprovalRequest) -> bool:
        """Store a new pending request; True if new, False if ``approval_id`` exists."""
        values = asdict(request) | {"status": ApprovalStatus.PENDING.value, "escalation_level": 0}
        return conn.execute(_insert_new(conn), values).rowcount == 1

    def get(self, conn: Connection, approval_id: str) -> Approval | None:
        """The approval ``approval_id``, or None."""
        row = conn.execute(_GET, {"target_id": approval_id}).mappings().first()
        return None if row is None else _to_approval(row)

    def list_pending(
        self, conn: Connection, *, run_id: str | None = None, limit: int = 100
    ) -> list[Approval]:
        """Open (pending or escalated) approvals, earliest deadline first."""
        stmt = select(*_COLUMNS).where(_IS_OPEN)
        if run_id is not None:
            stmt = stmt.where(_TABLE.c.run_id == run_id)
        return _fetch(conn, stmt.order_by(_TABLE.c.deadline).limit(limit))

    def due(self, conn: Connection, now: datetime, *, limit: int = 100) -> list[Approval]:
        """Open approvals whose deadline is at or before ``now``, earliest first."""
        stmt = select(*_COLUMNS).where(_IS_OPEN, _TABLE.c.deadline <= now)
        return _fetch(conn, stmt.order_by(_TABLE.c.deadline).limit(limit))

    def decide(
        self,
        conn: Connection,
        approval_id: str,
        *,
        status: ApprovalStatus,
        decided_by: str,
        decider_role: str,
        decided_at: datetime,
        comment: str | None = None,
    ) -> bool:
        """Close an open approval with a decision, if nobody closed it first.

        A single conditional UPDATE: of several deciders racing, exactly one wins.

        Args:
            conn: Connection inside the caller's transaction.
            approval_id: The approval to decide.
            status: ``granted``, ``denied`` or ``expired``.
            decided_by: Identity of the decider (a person, or the deadline timer).
            decider_role: Role the decider acted in.
            decided_at: When the decision was made.
            comment: Why, in the decider's words.

        Returns:
            True if this call decided it; False if it was already closed or is unknown.

        Raises:
            ValueError: ``status`` is not a decision.
        """
        if status not in _DECISIONS:
            raise ValueError(f"{status!r} is not a decision")
        params = {
            "target_id": approval_id,
            "decision": status.value,
            "decider": decided_by,
            "role": decider_role,
            "at": decided_at,
            "note": comment,
        }
        return conn.execute(_DECIDE, params).rowcount == 1

    def escalate(
        self, conn: Connection, approval_id: str, *, from_level: int, new_deadline: datetime
    ) -> bool:
        """Move an open approval from ``from_level`` up one level with a new deadline.

        Conditional on the level, so two timers firing together escalate once.
        Returns True if this call escalated it.
        """
        params = {
            "target_id": approval_id,
            "from_level": from_level,
            "new_deadline": new_deadline,
        }
        return conn.execute(_ESCALATE, params).rowcount == 1


def _fetch(conn: Connection, stmt: AnySelect) -> list[Approval]:
    return [_to_approval(row) for row in conn.execute(stmt).mappings()]


def _to_approval(row: RowMapping) -> Approval:
    values: dict[str, Any] = dict(row)
    values["status"] = ApprovalStatus(values["status"])
    return Approval(**values)
