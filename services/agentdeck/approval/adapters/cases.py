"""Cases in SQL: the ``approvals`` row and the case's JSON, changed together.

The row (:class:`ApprovalsRepository`) holds what other readers query: status,
the race-free decision, and ``deadline``, which here is the case's *next
timer* (its escalation point, then its deadline). The case JSON, sealed in
``approval_cases`` (:class:`CasesRepository`), holds the rest: the request
event, the arguments, the votes. Every change writes the JSON with an
optimistic version check and moves the row with its conditional update in
one transaction, so of two writers racing exactly one wins; the loser sees
:class:`Conflict`.

Events a change implies go into ``approval_outbox`` (:class:`OutboxRepository`)
in the same transaction, and leave it once Kafka has acknowledged them, so a
crash between the commit and the publish loses nothing:
:meth:`CaseStore.outbox` hands them back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from agentdeck.approval.adapters.case_rows import CasesRepository, OutboxEntry, OutboxRepository
from agentdeck.approval.adapters.requests import ApprovalRequest, ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.approval.core import Case, CaseStatus, Verdict
from agentdeck.contracts import Codec, Event
from agentdeck.privacy import AtRest
from agentdeck.store import Store

__all__ = ["CaseStore", "Conflict", "StoredCase"]

_TIMER = "deadline"
_TIMER_ROLE = "system"
_CASE_PATH = "approval.case"
_COMMENT_PATH = "approvals.comment"
_SCAN = 10_000
_CHUNK = 200


@dataclass(frozen=True)
class StoredCase:
    """A case as read, with the version a write must expect."""

    case: Case
    version: int


class Conflict(Exception):
    """Another writer changed the case first; read it again and decide again."""


def _row(case: Case, now: datetime) -> ApprovalRequest:
    request = case.request
    return ApprovalRequest(
        approval_id=case.approval_id,
        run_id=request.envelope.run_id or "",
        step_id=request.envelope.step_id or "",
        tool=request.tool,
        payload_hash=request.payload_hash,
        requested_by=request.requested_by,
        risk_band=request.risk_band,
        deadline=case.next_timer,
        created_at=now,
    )


def _decider(case: Case) -> tuple[str, str, str | None]:
    if case.status is CaseStatus.EXPIRED:
        return _TIMER, _TIMER_ROLE, None
    if case.status is CaseStatus.DENIED:
        votes = [case.votes[-1]]
    else:
        votes = [v for v in case.votes if v.verdict is Verdict.APPROVE]
    comments = "; ".join(f"{v.approver}: {v.comment}" for v in votes if v.comment)
    return "+".join(v.approver for v in votes), "+".join(v.role for v in votes), comments or None


class CaseStore:
    """Reads and changes cases; each method is one transaction."""

    def __init__(self, store: Store, codec: Codec) -> None:
        self._store = store
        self._requests = ApprovalsRepository()
        self._rows = CasesRepository()
        self._outbox = OutboxRepository()
        self._codec = codec
        self._at_rest = AtRest(codec.cipher)

    def _dump(self, case: Case) -> str:
        """The case's JSON, sealed under its run's subject key (it holds arguments and comments)."""
        return self._sealed(case, case.model_dump_json(), _CASE_PATH)

    def _sealed(self, case: Case, text: str, path: str) -> str:
        env = case.request.envelope
        run_id = env.run_id or case.approval_id
        return self._at_rest.seal(
            text, tenant=env.tenant, run_id=run_id, record_id=case.approval_id, path=path
        )

    def _parse(self, approval_id: str, text: str) -> Case | None:
        """The stored case; None if its subject was erased (the case is gone with its data)."""
        clear = self._at_rest.open(text, record_id=approval_id, path=_CASE_PATH)
        return None if clear is None else Case.model_validate_json(clear)

    def known(self, conn: Connection, approval_ids: Collection[str]) -> set[str]:
        """Which of ``approval_ids`` already have a case (in the caller's transaction)."""
        return self._rows.known(conn, approval_ids)

    def sealed(self, cases: Sequence[Case]) -> dict[str, str]:
        """Each case's stored form, sealed: done before a write transaction opens."""
        return {case.approval_id: self._dump(case) for case in cases}

    def create(self, cases: Sequence[Case], now: datetime) -> None:
        """Store new cases; a case that exists already is left as it is."""
        if not cases:
            return
        states = self.sealed(cases)  # sealed before writing
        with self._store.transaction() as conn:
            self.write(conn, cases, states, now)

    def write(
        self, conn: Connection, cases: Sequence[Case], sealed: Mapping[str, str], now: datetime
    ) -> None:
        """Store new cases in the caller's transaction, as :meth:`sealed` gave them."""
        for case in cases:
            if self._requests.create(conn, _row(case, now)):
                self._rows.insert_new(conn, case.approval_id, sealed[case.approval_id], now)

    def load(self, approval_id: str) -> StoredCase | None:
        """The case ``approval_id``, or None."""
        with self._store.transaction(read_only=True) as conn:
            found = self._cases(conn, [approval_id])
        return found[0] if found else None

    def open_cases(
        self,
        *,
        limit: int = 100,
        where: Callable[[Case], bool] = lambda _case: True,
        scan: int = _SCAN,
    ) -> list[Case]:
        """The first ``limit`` open cases that satisfy ``where``, next timer first.

        The approvals row names no tenant, so entitlement is decided on the
        case itself: up to ``scan`` open rows are read, and their cases loaded a
        chunk at a time until ``limit`` pass.
        """
        found: list[Case] = []
        with self._store.transaction(read_only=True) as conn:
            rows = self._requests.list_pending(conn, limit=scan)
            ids = [r.approval_id for r in rows]
            for start in range(0, len(ids), _CHUNK):
                chunk = self._cases(conn, ids[start : start + _CHUNK])
                found += [s.case for s in chunk if where(s.case)]
                if len(found) >= limit:
                    break
        return found[:limit]

    def open_of_run(self, run_id: str, *, limit: int = 100) -> list[StoredCase]:
        """The run's open cases."""
        with self._store.transaction(read_only=True) as conn:
            rows = self._requests.list_pending(conn, run_id=run_id, limit=limit)
            return self._cases(conn, [r.approval_id for r in rows])

    def due(self, now: datetime, *, limit: int = 100) -> list[StoredCase]:
        """Open cases whose next timer is at or before ``now``."""
        with self._store.transaction(read_only=True) as conn:
            rows = self._requests.due(conn, now, limit=limit)
            return self._cases(conn, [r.approval_id for r in rows])

    def of(self, conn: Connection, approval_ids: list[str]) -> list[StoredCase]:
        """The cases of ``approval_ids`` that exist, read in the caller's transaction."""
        return self._cases(conn, approval_ids)

    def _cases(self, conn: Connection, approval_ids: list[str]) -> list[StoredCase]:
        found = self._rows.get_many(conn, approval_ids)
        cases = []
        for approval_id in approval_ids:
            row = found.get(approval_id)
            case = None if row is None else self._parse(approval_id, row.sealed_case)
            if case is not None and row is not None:
                cases.append(StoredCase(case, row.version))
        return cases

    def save(self, before: StoredCase, after: Case, events: Sequence[Event], now: datetime) -> None:
        """Replace ``before`` by ``after`` and queue ``events``, or raise :class:`Conflict`."""
        # Sealed and encoded before the transaction: sealing may read the key store,
        # and SQLite admits one writer at a time.
        state = self._dump(after)
        comment = self._comment(after)
        outbox = [
            OutboxEntry(e.envelope.event_id, after.approval_id, self._codec.encode(e), now)
            for e in events
        ]
        with self._store.transaction() as conn:
            written = self._rows.replace(
                conn, after.approval_id, state, expected_version=before.version, now=now
            )
            if written is None or not self._move_row(conn, before.case, after, comment):
                raise Conflict(after.approval_id)
            self._outbox.add(conn, outbox)

    def _comment(self, case: Case) -> str | None:
        """The deciders' comments for the approvals row, sealed; None while the case is open."""
        if case.is_open:
            return None
        comment = _decider(case)[2]
        return comment if comment is None else self._sealed(case, comment, _COMMENT_PATH)

    def _move_row(self, conn: Connection, before: Case, after: Case, comment: str | None) -> bool:
        approvals = self._requests
        if not after.is_open:
            decided_by, role, _ = _decider(after)
            return approvals.decide(
                conn,
                after.approval_id,
                status=ApprovalStatus(after.status.value),
                decided_by=decided_by,
                decider_role=role,
                decided_at=after.decided_at or after.deadline,
                comment=comment,
            )
        if after.level > before.level:
            return approvals.escalate(
                conn, after.approval_id, from_level=before.level, new_deadline=after.next_timer
            )
        return True

    def outbox(self, *, limit: int = 100) -> list[Event]:
        """Events committed but not yet acknowledged by Kafka, oldest first."""
        with self._store.transaction(read_only=True) as conn:
            entries = self._outbox.oldest(conn, limit=limit)
        return [self._codec.decode(e.record) for e in entries]

    def sent(self, event_ids: Collection[str]) -> None:
        """Drop acknowledged events from the outbox."""
        if not event_ids:
            return
        with self._store.transaction() as conn:
            self._outbox.remove(conn, event_ids)
