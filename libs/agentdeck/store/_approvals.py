"""Durable approval requests and their race-free decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, select, update

from agentdeck.store._dialect import insert_for
from agentdeck.store._enums import OPEN_APPROVAL_STATUSES, ApprovalStatus
from agentdeck.store._models import ApprovalRow

if TYPE_CHECKING:
    from agentdeck.store._dialect import AnySelect

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


_COLUMNS = tuple(ApprovalRow.__table__.c)


class ApprovalsRepository:
    """Stores approval requests and decisions. Stateless; pass the connection."""

    def create(self, conn: Connection, request: ApprovalRequest) -> bool:
        """Store a new pending request; True if new, False if ``approval_id`` exists."""
        values = asdict(request) | {"status": ApprovalStatus.PENDING.value, "escalation_level": 0}
        stmt = insert_for(conn, ApprovalRow).values(values).on_conflict_do_nothing()
        return conn.execute(stmt).rowcount == 1

    def get(self, conn: Connection, approval_id: str) -> Approval | None:
        """The approval ``approval_id``, or None."""
        row = conn.execute(self._select().where(ApprovalRow.approval_id == approval_id)).first()
        return None if row is None else _to_approval(row._mapping)

    def list_pending(
        self, conn: Connection, *, run_id: str | None = None, limit: int = 100
    ) -> list[Approval]:
        """Open (pending or escalated) approvals, earliest deadline first."""
        stmt = self._select().where(ApprovalRow.status.in_(_OPEN))
        if run_id is not None:
            stmt = stmt.where(ApprovalRow.run_id == run_id)
        return self._fetch(conn, stmt.order_by(ApprovalRow.deadline).limit(limit))

    def due(self, conn: Connection, now: datetime, *, limit: int = 100) -> list[Approval]:
        """Open approvals whose deadline is at or before ``now``, earliest first."""
        stmt = self._select().where(ApprovalRow.status.in_(_OPEN), ApprovalRow.deadline <= now)
        return self._fetch(conn, stmt.order_by(ApprovalRow.deadline).limit(limit))

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
        stmt = (
            update(ApprovalRow)
            .where(ApprovalRow.approval_id == approval_id, ApprovalRow.status.in_(_OPEN))
            .values(
                status=status.value,
                decided_by=decided_by,
                decider_role=decider_role,
                decided_at=decided_at,
                comment=comment,
            )
        )
        return conn.execute(stmt).rowcount == 1

    def escalate(
        self, conn: Connection, approval_id: str, *, from_level: int, new_deadline: datetime
    ) -> bool:
        """Move an open approval from ``from_level`` up one level with a new deadline.

        Conditional on the level, so two timers firing together escalate once.
        Returns True if this call escalated it.
        """
        stmt = (
            update(ApprovalRow)
            .where(
                ApprovalRow.approval_id == approval_id,
                ApprovalRow.status.in_(_OPEN),
                ApprovalRow.escalation_level == from_level,
            )
            .values(
                status=ApprovalStatus.ESCALATED.value,
                escalation_level=from_level + 1,
                deadline=new_deadline,
            )
        )
        return conn.execute(stmt).rowcount == 1

    @staticmethod
    def _select() -> AnySelect:
        return select(*_COLUMNS)

    @staticmethod
    def _fetch(conn: Connection, stmt: AnySelect) -> list[Approval]:
        return [_to_approval(row) for row in conn.execute(stmt).mappings()]


def _to_approval(row: RowMapping) -> Approval:
    values: dict[str, Any] = dict(row)
    values["status"] = ApprovalStatus(values["status"])
    return Approval(**values)
