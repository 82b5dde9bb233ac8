"""Contract: consumer idempotency records, on every backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from agentdeck.store import ProcessedEventsRepository, transaction

if TYPE_CHECKING:
    from .conftest import NewId

processed = ProcessedEventsRepository()


def test_unrecorded_events_are_all_new(engine: Engine, new_id: NewId) -> None:
    ids = {new_id("evt") for _ in range(3)}
    with transaction(engine) as conn:
        assert processed.filter_new(conn, new_id("consumer"), ids) == ids


def test_marked_events_are_no_longer_new(engine: Engine, new_id: NewId) -> None:
    consumer = new_id("consumer")
    done, fresh = new_id("evt"), new_id("evt")
    with transaction(engine) as conn:
        assert processed.mark(conn, consumer, [done]) == 1
    with transaction(engine) as conn:
        assert processed.filter_new(conn, consumer, [done, fresh]) == {fresh}


def test_marking_again_records_nothing_twice(engine: Engine, new_id: NewId) -> None:
    consumer = new_id("consumer")
    first, second = new_id("evt"), new_id("evt")
    with transaction(engine) as conn:
        processed.mark(conn, consumer, [first])
    with transaction(engine) as conn:
        assert processed.mark(conn, consumer, [first, second, second]) == 1
        assert processed.filter_new(conn, consumer, [first, second]) == set()


def test_each_consumer_keeps_its_own_record(engine: Engine, new_id: NewId) -> None:
    event = new_id("evt")
    planner, policy = new_id("planner"), new_id("policy")
    with transaction(engine) as conn:
        processed.mark(conn, planner, [event])
        assert processed.filter_new(conn, policy, [event]) == {event}


def test_a_rolled_back_batch_leaves_its_events_new(engine: Engine, new_id: NewId) -> None:
    consumer, event = new_id("consumer"), new_id("evt")

    def handle_then_crash() -> None:
        with transaction(engine) as conn:
            processed.mark(conn, consumer, [event])
            raise RuntimeError("handler crashed before commit")

    with pytest.raises(RuntimeError, match="crashed"):
        handle_then_crash()

    with transaction(engine) as conn:
        assert processed.filter_new(conn, consumer, [event]) == {event}


def test_empty_batches_need_no_statement(engine: Engine, new_id: NewId) -> None:
    with transaction(engine) as conn:
        assert processed.filter_new(conn, new_id("consumer"), []) == set()
        assert processed.mark(conn, new_id("consumer"), []) == 0


def test_a_large_batch_is_filtered_and_marked_whole(engine: Engine, new_id: NewId) -> None:
    consumer = new_id("consumer")
    ids = [new_id("evt") for _ in range(12_000)]
    with transaction(engine) as conn:
        assert processed.mark(conn, consumer, ids[::2]) == 6_000
        assert processed.filter_new(conn, consumer, ids) == set(ids[1::2])
