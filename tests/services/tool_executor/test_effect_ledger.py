"""Contract: the effect ledger state machine, on every backend."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Connection, Engine

from agentdeck.store import IdempotencyKeyReusedError, transaction
from agentdeck.tool_executor.adapters.effects import BeginOutcome, EffectLedger
from agentdeck.tool_executor.adapters.tables import BeginStatus, EffectStatus

if TYPE_CHECKING:
    from testkit.sql import NewId

ledger = EffectLedger()


def begin(conn: Connection, key: str, at: datetime, **changes: object) -> BeginOutcome:
    args: dict[str, object] = {
        "run_id": "run-1",
        "step_id": "step-1",
        "tool": "refund_order",
        "args_hash": "sha256:aaaa",
        "now": at,
    }
    return ledger.begin(conn, key, **(args | changes))  # type: ignore[arg-type]


def test_the_first_begin_owns_the_effect(engine: Engine, new_id: NewId, now: datetime) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        outcome = begin(conn, key, now)
        stored = ledger.get(conn, key)
    assert outcome.status is BeginStatus.NEW
    assert outcome.may_perform
    assert stored == outcome.entry
    assert stored is not None
    assert (stored.status, stored.attempt, stored.started_at) == (EffectStatus.STARTED, 1, now)


def test_begin_on_a_started_key_must_reconcile_not_repeat(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
    with transaction(engine) as conn:
        again = begin(conn, key, now + timedelta(seconds=30))
    assert again.status is BeginStatus.IN_PROGRESS_OR_UNKNOWN
    assert not again.may_perform
    assert again.entry.started_at == now


def test_begin_after_completion_returns_the_stored_result(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
    with transaction(engine) as conn:
        assert ledger.complete(conn, key, result=b'{"refund_id": "rf_1"}', now=now)
    with transaction(engine) as conn:
        outcome = begin(conn, key, now)
    assert outcome.status is BeginStatus.COMPLETED
    assert outcome.result == b'{"refund_id": "rf_1"}'
    assert outcome.entry.finished_at == now


def test_begin_after_failure_reports_the_failure(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
        assert ledger.fail(conn, key, error="card declined", now=now)
        outcome = begin(conn, key, now)
    assert outcome.status is BeginStatus.FAILED
    assert outcome.entry.error == "card declined"


def test_a_failed_effect_may_be_retried_as_a_new_attempt_when_asked(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    later = now + timedelta(minutes=1)
    with transaction(engine) as conn:
        begin(conn, key, now)
        ledger.fail(conn, key, error="timeout", now=now)
        retried = begin(conn, key, later, retry_failed=True)
        repeated = begin(conn, key, later, retry_failed=True)
    assert retried.status is BeginStatus.NEW
    assert (retried.entry.attempt, retried.entry.started_at, retried.entry.error) == (
        2,
        later,
        None,
    )
    assert repeated.status is BeginStatus.IN_PROGRESS_OR_UNKNOWN


def test_an_unknown_outcome_is_reconciled_not_repeated(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
        assert ledger.mark_unknown(conn, key)
        assert not ledger.mark_unknown(conn, key)
        assert begin(conn, key, now).status is BeginStatus.IN_PROGRESS_OR_UNKNOWN
        assert ledger.complete(conn, key, result=None, now=now)
        entry = ledger.get(conn, key)
    assert entry is not None
    assert entry.status is EffectStatus.COMPLETED


def test_a_final_entry_cannot_be_finished_again(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
        assert ledger.complete(conn, key, result=b"ok", now=now)
        assert not ledger.complete(conn, key, result=b"other", now=now)
        assert not ledger.fail(conn, key, error="late failure", now=now)
        assert not ledger.mark_unknown(conn, key)
        entry = ledger.get(conn, key)
    assert entry is not None
    assert (entry.status, entry.result) == (EffectStatus.COMPLETED, b"ok")


def test_finishing_an_unknown_key_changes_nothing(engine: Engine, new_id: NewId) -> None:
    with transaction(engine) as conn:
        assert not ledger.complete(conn, new_id("key"), result=b"x")
        assert ledger.get(conn, new_id("key")) is None


def test_a_key_reused_with_other_arguments_is_refused(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    with transaction(engine) as conn:
        begin(conn, key, now)
    with pytest.raises(IdempotencyKeyReusedError) as raised, transaction(engine) as conn:
        begin(conn, key, now, args_hash="sha256:bbbb")
    assert not raised.value.retryable


def test_unresolved_lists_started_and_unknown_effects_oldest_first(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    long_ago = now - timedelta(days=365 * 30)
    started, unknown, done = new_id("key"), new_id("key"), new_id("key")
    with transaction(engine) as conn:
        begin(conn, unknown, long_ago)
        begin(conn, started, long_ago + timedelta(seconds=1))
        begin(conn, done, long_ago)
        ledger.mark_unknown(conn, unknown)
        ledger.complete(conn, done, result=None, now=now)
        found = ledger.unresolved(conn, started_before=long_ago + timedelta(minutes=1))
    assert [
        entry.idempotency_key
        for entry in found
        if entry.idempotency_key in {started, unknown, done}
    ] == [
        unknown,
        started,
    ]


def test_of_racing_begins_exactly_one_may_perform(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    key = new_id("key")
    racers = 8
    barrier = threading.Barrier(racers, timeout=10)

    def race(_: int) -> BeginStatus:
        barrier.wait()
        with transaction(engine) as conn:
            return begin(conn, key, now).status

    with ThreadPoolExecutor(racers) as pool:
        statuses = list(pool.map(race, range(racers)))
    assert statuses.count(BeginStatus.NEW) == 1
    assert statuses.count(BeginStatus.IN_PROGRESS_OR_UNKNOWN) == racers - 1
