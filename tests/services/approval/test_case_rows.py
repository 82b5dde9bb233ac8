"""Contract: sealed cases and the outbox, on every backend.

The database is shared with the service's other tests, whose sweepers read
every open case and every waiting event: the cases here belong to decided
approvals, and the events leave the outbox when each test ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, event

from agentdeck.approval.adapters.case_rows import CasesRepository, OutboxEntry, OutboxRepository
from agentdeck.approval.adapters.requests import ApprovalRequest, ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.store import transaction
from agentdeck.store.errors import StoreIntegrityError

if TYPE_CHECKING:
    from testkit.sql import NewId

cases = CasesRepository()
outbox = OutboxRepository()
approvals = ApprovalsRepository()


def requested(engine: Engine, new_id: NewId, now: datetime) -> str:
    """A new approvals row (a case belongs to one), decided: no sweeper looks at it."""
    approval_id = new_id("appr")
    asked = ApprovalRequest(
        approval_id=approval_id,
        run_id=new_id("run"),
        step_id="step-1",
        tool="refund_order",
        payload_hash="sha256:1234",
        requested_by="agent:refunds",
        risk_band="high",
        deadline=now + timedelta(hours=1),
        created_at=now,
    )
    with transaction(engine) as conn:
        assert approvals.create(conn, asked)
        assert approvals.decide(
            conn,
            approval_id,
            status=ApprovalStatus.GRANTED,
            decided_by="alice",
            decider_role="finance",
            decided_at=now,
        )
    return approval_id


def with_case(engine: Engine, new_id: NewId, now: datetime, text: str = "sealed-v1") -> str:
    approval_id = requested(engine, new_id, now)
    with transaction(engine) as conn:
        assert cases.insert_new(conn, approval_id, text, now)
    return approval_id


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent to ``engine`` meanwhile."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_new_case_is_stored_at_version_one(engine: Engine, new_id: NewId, now: datetime) -> None:
    approval_id = with_case(engine, new_id, now)
    with transaction(engine, read_only=True) as conn:
        found = cases.get_many(conn, [approval_id])
    stored = found[approval_id]
    assert (stored.version, stored.sealed_case, stored.updated_at) == (1, "sealed-v1", now)


def test_a_case_stored_twice_keeps_the_first(engine: Engine, new_id: NewId, now: datetime) -> None:
    approval_id = with_case(engine, new_id, now)
    with transaction(engine) as conn:
        assert not cases.insert_new(conn, approval_id, "sealed-later", now + timedelta(seconds=1))
        stored = cases.get_many(conn, [approval_id])[approval_id]
    assert (stored.version, stored.sealed_case) == (1, "sealed-v1")


def test_a_case_needs_its_approval(engine: Engine, new_id: NewId, now: datetime) -> None:
    with pytest.raises(StoreIntegrityError), transaction(engine) as conn:
        cases.insert_new(conn, new_id("appr"), "orphan", now)


def test_a_write_expecting_the_stored_version_moves_it_up_by_one(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    approval_id = with_case(engine, new_id, now)
    later = now + timedelta(minutes=1)
    with transaction(engine) as conn:
        assert cases.replace(conn, approval_id, "sealed-v2", expected_version=1, now=later) == 2
        stored = cases.get_many(conn, [approval_id])[approval_id]
    assert (stored.version, stored.sealed_case, stored.updated_at) == (2, "sealed-v2", later)


def test_a_stale_write_changes_nothing(engine: Engine, new_id: NewId, now: datetime) -> None:
    approval_id = with_case(engine, new_id, now)
    with transaction(engine) as conn:
        assert cases.replace(conn, approval_id, "sealed-v2", expected_version=1, now=now) == 2
        assert cases.replace(conn, approval_id, "stale", expected_version=1, now=now) is None
        assert cases.replace(conn, new_id("appr"), "unknown", expected_version=1, now=now) is None
        stored = cases.get_many(conn, [approval_id])[approval_id]
    assert (stored.version, stored.sealed_case) == (2, "sealed-v2")


def test_of_two_writers_expecting_the_same_version_exactly_one_wins(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    approval_id = with_case(engine, new_id, now)
    barrier = threading.Barrier(2, timeout=10)

    def write(text: str) -> int | None:
        barrier.wait()
        with transaction(engine) as conn:
            return cases.replace(conn, approval_id, text, expected_version=1, now=now)

    with ThreadPoolExecutor(2) as pool:
        outcomes = dict(zip(["alice", "bob"], pool.map(write, ["alice", "bob"]), strict=True))
    with transaction(engine, read_only=True) as conn:
        stored = cases.get_many(conn, [approval_id])[approval_id]

    assert sorted(outcomes.values(), key=str) == [2, None]
    assert outcomes[stored.sealed_case] == 2
    assert stored.version == 2


def test_many_cases_are_read_in_one_statement(engine: Engine, new_id: NewId, now: datetime) -> None:
    ids = [with_case(engine, new_id, now, text=f"sealed-{n}") for n in range(3)]
    unknown = new_id("appr")
    with transaction(engine, read_only=True) as conn, statements(engine) as sent:
        found = cases.get_many(conn, [*ids, unknown])
        known = cases.known(conn, [*ids, unknown])
    assert len(sent) == 2
    assert {i: s.sealed_case for i, s in found.items()} == {
        i: f"sealed-{n}" for n, i in enumerate(ids)
    }
    assert known == set(ids)
    with transaction(engine, read_only=True) as conn:
        assert cases.get_many(conn, []) == {}
        assert cases.known(conn, []) == set()


def entry(
    new_id: NewId, approval_id: str, at: datetime, record: bytes = b"\x00event"
) -> OutboxEntry:
    return OutboxEntry(new_id("evt"), approval_id, record, at)


def waiting(engine: Engine, approval_id: str) -> list[OutboxEntry]:
    with transaction(engine, read_only=True) as conn:
        return [e for e in outbox.oldest(conn, limit=10_000) if e.approval_id == approval_id]


@pytest.fixture
def approval_id(engine: Engine, new_id: NewId) -> Iterator[str]:
    """The approval a test queues events of; they leave the outbox afterwards."""
    queued_for = new_id("appr")
    yield queued_for
    with transaction(engine) as conn:
        outbox.remove(conn, [e.event_id for e in waiting(engine, queued_for)])


def test_queued_events_come_back_oldest_first_until_removed(
    engine: Engine, new_id: NewId, now: datetime, approval_id: str
) -> None:
    # The older event's id sorts last: the order is by age, not by id.
    newer = OutboxEntry(new_id("a-evt"), approval_id, b"newer", now + timedelta(seconds=1))
    older = OutboxEntry(new_id("z-evt"), approval_id, b"\x00\xffolder", now)
    with transaction(engine) as conn, statements(engine) as sent:
        outbox.add(conn, [newer, older])
    assert len(sent) == 1
    assert waiting(engine, approval_id) == [older, newer]
    with transaction(engine) as conn:
        assert outbox.remove(conn, [older.event_id, new_id("evt")]) == 1
    assert waiting(engine, approval_id) == [newer]


def test_the_outbox_hands_back_at_most_the_limit(
    engine: Engine, new_id: NewId, now: datetime, approval_id: str
) -> None:
    early = now - timedelta(days=3650)  # before anything other tests queue
    queued = [entry(new_id, approval_id, early + timedelta(seconds=n)) for n in range(3)]
    with transaction(engine) as conn:
        outbox.add(conn, queued)
        first = outbox.oldest(conn, limit=2)
    assert first == queued[:2]


def test_an_event_queued_again_is_kept_once_as_last_written(
    engine: Engine, new_id: NewId, now: datetime, approval_id: str
) -> None:
    first = entry(new_id, approval_id, now, b"first")
    again = OutboxEntry(first.event_id, approval_id, b"again", now + timedelta(seconds=5))
    with transaction(engine) as conn:
        outbox.add(conn, [first])
        outbox.add(conn, [again])
    assert [(e.event_id, e.record) for e in waiting(engine, approval_id)] == [
        (first.event_id, b"again")
    ]
