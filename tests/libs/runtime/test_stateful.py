"""The runtime owns a stateful handler's transaction: load, decide, save; processed ids with it.

Real broker, real store. The handler here counts goals per run in a table of
its own; each test breaks one step and checks the batch ends up
decided exactly once, with its state and its processed ids together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, select

from agentdeck.contracts import Event
from agentdeck.errors import RetryableError
from agentdeck.kafka import ConsumerLoop, EventProducer, Inbound, Topic
from agentdeck.runtime import Decision, journaled, transactional
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store
from agentdeck.store.sql import per_dialect
from testkit.kafka import goal, make_loop, read_topic, run_until, started

COUNTS = Table(
    "runtime_test_counts",
    MetaData(),
    Column("run_id", String(64), primary_key=True),
    Column("goals", Integer, nullable=False),
)
_PUT = per_dialect(
    lambda insert: (stmt := insert(COUNTS)).on_conflict_do_update(
        index_elements=["run_id"], set_={"goals": stmt.excluded.goals}
    )
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store, with the counter's table."""
    with Store.open("", data_dir=str(tmp_path / "store")) as opened:
        COUNTS.create(opened.engine)
        yield opened


class Counter:
    """Counts the goals of each run; each goal causes its run's RunStarted."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.decided: list[str] = []
        self.saves = 0
        self.fail_saves = 0
        self.produced_at_save: list[int] = []
        self.producer: EventProducer | None = None

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> dict[str, int]:
        runs = {i.event.envelope.run_id or "" for i in batch}
        found = conn.execute(select(COUNTS).where(COUNTS.c.run_id.in_(runs)))
        return {row.run_id: row.goals for row in found}

    def decide(self, state: dict[str, int], batch: Sequence[Inbound]) -> Decision[dict[str, int]]:
        counts = dict(state)
        for item in batch:
            run = item.event.envelope.run_id or ""
            counts[run] = counts.get(run, 0) + 1
            self.decided.append(item.event.envelope.event_id)
        return Decision(counts, [started(item.event) for item in batch])

    def save(self, conn: Connection, decision: Decision[dict[str, int]]) -> None:
        self.saves += 1
        if self.producer is not None:
            self.produced_at_save.append(self.producer.produced)
        rows = [{"run_id": r, "goals": n} for r, n in decision.state.items()]
        if rows:
            conn.execute(_PUT(conn), rows)
        if self.saves <= self.fail_saves:
            raise RetryableError("the database went away", capability="store", code="unavailable")

    def replay(self, conn: Connection, seen: Sequence[Inbound]) -> list[Event]:  # noqa: ARG002
        return [started(item.event) for item in seen]

    def counts(self) -> dict[str, int]:
        with self.store.transaction(read_only=True) as conn:
            return {row.run_id: row.goals for row in conn.execute(select(COUNTS))}


def _loop(  # type: ignore[no-untyped-def]
    kafka: KafkaSettings, codec, handler, producer: EventProducer, group: str = "counter"
) -> ConsumerLoop:
    return make_loop(kafka, codec, handler, group=group, producer=producer)


def _publish(kafka: KafkaSettings, codec, goals: Sequence[int]) -> None:  # type: ignore[no-untyped-def]
    source = EventProducer(kafka, codec, client_id="source")
    source.send_all(goal(n) for n in goals)
    source.flush()


def test_state_and_processed_ids_commit_together_or_not_at_all(kafka, codec, store):
    """The first save fails after writing: its state and processed ids both roll back, so the
    retried batch is decided again and every goal counts once."""
    _publish(kafka, codec, range(5))
    counter = Counter(store)
    counter.fail_saves = 1
    handler = transactional(counter, store=store, consumer="counter")
    loop = _loop(kafka, codec, handler, EventProducer(kafka, codec, client_id="counter"))
    run_until(loop, lambda: sum(counter.counts().values()) >= 5, timeout_s=60)
    loop.close()
    assert loop.stats.retries >= 1
    assert counter.counts() == {f"run-{n}": 1 for n in range(5)}
    with store.transaction(read_only=True) as conn:
        ids = [goal(n).envelope.event_id for n in range(5)]
        assert store.processed.filter_new(conn, "counter", ids) == set()


def test_an_event_processed_before_is_never_decided_again(kafka, codec, store):
    _publish(kafka, codec, [1, 2])
    counter = Counter(store)
    handler = transactional(counter, store=store, consumer="counter")
    loop = _loop(kafka, codec, handler, EventProducer(kafka, codec, client_id="counter"))
    run_until(loop, lambda: loop.stats.consumed == 2)
    _publish(kafka, codec, [1, 3])  # goal 1 again: a redelivery or a producer's retry
    run_until(loop, lambda: loop.stats.consumed == 4)
    loop.close()
    assert sorted(counter.decided) == sorted(goal(n).envelope.event_id for n in (1, 2, 3))
    assert counter.counts() == {"run-1": 1, "run-2": 1, "run-3": 1}


def test_state_commits_after_the_outputs_unless_journaled(kafka, codec, store):
    """Plain: the batch's outputs are enqueued (and flushed) before its state commits.
    Journaled: the state commits before any of them is enqueued."""
    _publish(kafka, codec, range(3))
    plain = Counter(store)
    plain.producer = EventProducer(kafka, codec, client_id="plain")
    loop = _loop(kafka, codec, transactional(plain, store=store, consumer="plain"), plain.producer)
    run_until(loop, lambda: plain.saves >= 1 and sum(plain.counts().values()) == 3)
    loop.close()
    assert plain.produced_at_save[0] > 0, "the plain state committed before its outputs"

    journal = Counter(store)
    journal.producer = EventProducer(kafka, codec, client_id="journal")
    handler = journaled(journal, store=store, consumer="journal")
    loop = _loop(kafka, codec, handler, journal.producer, group="journal")  # reads them again
    run_until(loop, lambda: len(journal.decided) == 3)
    loop.close()
    assert journal.produced_at_save[0] == 0, "the journaled state committed after publishing"


@pytest.mark.parametrize("shape", [journaled, transactional])
def test_a_handler_that_replays_republishes_a_redelivered_event_from_what_it_saved(
    kafka, codec, store, shape
):
    """Journaled or not: a handler that can say again what an event caused does so when the
    event comes again (re-driven because its outputs were lost), without deciding it again."""
    _publish(kafka, codec, [7])
    counter = Counter(store)
    producer = EventProducer(kafka, codec, client_id="counter")
    loop = _loop(kafka, codec, shape(counter, store=store, consumer="counter"), producer)
    run_until(loop, lambda: loop.stats.consumed == 1)
    _publish(kafka, codec, [7])  # redelivered after its state committed
    run_until(loop, lambda: loop.stats.consumed == 2)
    loop.close()
    assert counter.decided == [goal(7).envelope.event_id], "decided once"
    assert counter.counts() == {"run-7": 1}
    records = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 2)
    ids = [codec.decode(m.value()).envelope.event_id for m in records]
    assert ids == [started(goal(7)).envelope.event_id] * 2, "the same event, published again"
