"""The outbox: what a service published is kept until archived, and published again if lost.

Real broker, real store (SQLite and PostgreSQL). The clock is the test's, so
each rule of the republisher is one tick at a chosen time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.contracts import Codec
from agentdeck.kafka import EventProducer, Outcome, Published, Topic
from agentdeck.runtime import Republisher, StoreOutbox
from agentdeck.settings import KafkaSettings
from agentdeck.store import ArchiveRecord, Store, migrate
from testkit.kafka import goal, make_loop, read_topic, run_until, started_for
from testkit.sql import Databases

AFTER = timedelta(seconds=30)
GIVE_UP = timedelta(hours=1)
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(databases: Databases) -> Store:
    """A fresh, migrated store of one backend."""
    engine = databases.new_engine()
    migrate(engine)
    return Store(engine)


def _record(kafka: KafkaSettings, n: int) -> Published:
    return Published(
        event_id=f"evt-{kafka.topic_prefix}-{n}",
        topic=Topic.RUNS.full(kafka.topic_prefix),
        key=f"run-{n}".encode(),
        value=f"the record of event {n}".encode(),
        headers=(("ce_id", f"evt-{n}".encode()), ("empty", None)),
    )


def _archive(store: Store, event_id: str, archived_at: datetime) -> None:
    record = ArchiveRecord(
        event_id=event_id,
        event_type="agentdeck.events.RunStarted",
        schema_fingerprint="c0ffee00deadbeef",
        run_id="run-x",
        tenant="acme",
        topic="agentdeck.runs",
        partition=0,
        offset=0,
        occurred_at=archived_at,
        archived_at=archived_at,
        payload=b"archived",
        headers=(),
    )
    with store.transaction() as conn:
        store.archive.append_many(conn, [record])


def _kept(store: Store) -> dict[str, int]:
    """Every record the outbox keeps, with how often it was published again."""
    far = T0 + timedelta(days=365)
    with store.transaction(read_only=True) as conn:
        return {r.event_id: r.sent_again for r in store.outbox.due(conn, "svc", far, limit=100)}


def _due(store: Store, at: datetime) -> set[str]:
    with store.transaction(read_only=True) as conn:
        return {r.event_id for r in store.outbox.due(conn, "svc", at, limit=100)}


def _republisher(store: Store, kafka: KafkaSettings, codec: Codec, clock: Clock) -> Republisher:
    producer = EventProducer(kafka, codec, client_id="outbox-test")
    return Republisher(
        store,
        "svc",
        producer,
        clock=clock,
        check_after=AFTER,
        give_up_after=GIVE_UP,
        interval_s=1.0,
    )


def _keep(store: Store, clock: Clock, *records: Published) -> None:
    StoreOutbox(store, "svc", clock=clock, check_after=AFTER).keep(list(records))


def test_a_loop_keeps_its_outputs_as_acknowledged_before_its_handler_commits(
    kafka: KafkaSettings, codec: Codec, store: Store
) -> None:
    clock = Clock()
    outbox = StoreOutbox(store, "svc", clock=clock, check_after=AFTER)
    kept_at_commit: list[dict[str, int]] = []

    def handler(batch):  # type: ignore[no-untyped-def]
        return Outcome(started_for(batch), lambda: kept_at_commit.append(_kept(store)))

    producer = EventProducer(kafka, codec, client_id="relay", keep_sent=True)
    loop = make_loop(kafka, codec, handler, producer=producer, outbox=outbox)
    source = EventProducer(kafka, codec, client_id="source")
    source.send(goal(1))
    source.flush()
    run_until(loop, lambda: loop.stats.produced == 1)
    loop.close()

    [published] = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 1)
    [event_id] = kept_at_commit[0]
    assert _due(store, T0 + AFTER) == {event_id}, "due for its check one period after it was kept"
    assert _due(store, T0 + AFTER - timedelta(seconds=1)) == set()
    with store.transaction(read_only=True) as conn:
        [record] = store.outbox.due(conn, "svc", T0 + AFTER, limit=10)
    assert record.value == published.value()
    assert record.key == published.key()
    assert list(record.headers) == [(k, v) for k, v in published.headers() or []]


def test_a_record_the_archive_holds_is_forgotten_and_not_published_again(
    kafka: KafkaSettings, codec: Codec, store: Store
) -> None:
    clock, record = Clock(), _record(kafka, 1)
    _keep(store, clock, record)
    _archive(store, record.event_id, T0 + timedelta(seconds=1))
    clock.now = T0 + AFTER
    republisher = _republisher(store, kafka, codec, clock)
    assert republisher.tick() == 1
    assert _kept(store) == {}
    assert republisher.published_again == 0


def test_a_record_the_archive_moved_past_without_is_published_again_byte_for_byte(
    kafka: KafkaSettings, codec: Codec, store: Store
) -> None:
    clock, lost, later = Clock(), _record(kafka, 1), _record(kafka, 2)
    _keep(store, clock, lost)
    _archive(store, later.event_id, T0 + AFTER)  # telemetry is alive and past it
    clock.now = T0 + AFTER
    republisher = _republisher(store, kafka, codec, clock)
    assert republisher.tick() == 1
    assert republisher.published_again == 1
    [again] = read_topic(kafka, lost.topic, 1)
    assert (again.value(), again.key()) == (lost.value, lost.key)
    assert [(k, v) for k, v in again.headers() or []] == list(lost.headers)
    assert _kept(store) == {lost.event_id: 1}, "kept until the archive holds it"
    assert _due(store, T0 + 2 * AFTER) == set(), "checked again later each time"
    assert _due(store, T0 + 3 * AFTER) == {lost.event_id}


def test_a_record_waits_while_the_archive_is_behind_then_is_published_once_stale(
    kafka: KafkaSettings, codec: Codec, store: Store
) -> None:
    clock, record = Clock(), _record(kafka, 1)
    _keep(store, clock, record)
    _archive(store, "evt-older", T0 - timedelta(seconds=5))  # telemetry has not caught up
    republisher = _republisher(store, kafka, codec, clock)
    clock.now = T0 + AFTER
    republisher.tick()
    assert republisher.published_again == 0
    assert _kept(store) == {record.event_id: 0}
    clock.now = T0 + 4 * AFTER  # the last record before a quiet spell: nothing comes after it
    republisher.tick()
    assert republisher.published_again == 1
    assert read_topic(kafka, record.topic, 1)[0].value() == record.value


def test_a_record_never_archived_is_given_up_on(
    kafka: KafkaSettings, codec: Codec, store: Store
) -> None:
    clock, record = Clock(), _record(kafka, 1)
    _keep(store, clock, record)
    clock.now = T0 + GIVE_UP
    republisher = _republisher(store, kafka, codec, clock)
    republisher.tick()
    assert _kept(store) == {}
    assert republisher.published_again == 0


def test_keeping_a_record_twice_keeps_the_first(store: Store, kafka: KafkaSettings) -> None:
    clock, record = Clock(), _record(kafka, 1)
    _keep(store, clock, record)
    clock.now = T0 + timedelta(seconds=10)
    _keep(store, clock, replace(record, value=b"another"), _record(kafka, 2))
    with store.transaction(read_only=True) as conn:
        kept = {r.event_id: r for r in store.outbox.due(conn, "svc", T0 + 2 * AFTER, limit=10)}
    assert kept[record.event_id].value == record.value
    assert kept[record.event_id].kept_at == T0
    assert len(kept) == 2
