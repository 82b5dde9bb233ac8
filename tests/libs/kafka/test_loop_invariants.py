"""The consumer loop's ordering, observed at the moment each step happens.

The loop's promise (module doc of ``agentdeck.kafka.consumer``): a batch's
outputs are acknowledged by the broker before the handler's state commits,
and its offsets are committed only after that state. Each test looks at the
one fact that ordering guarantees, at the instant the next step runs, without
waiting for it to become true: the producer holds nothing unacknowledged, the
group's committed offsets have not moved. ``tests/mutations`` breaks each order
on purpose and expects these to fail.
"""

from collections.abc import Sequence

from agentdeck.contracts import Event
from agentdeck.kafka import EventAuthority, EventProducer, Inbound, Outcome, Topic
from agentdeck.settings import KafkaSettings
from agentdeck.signing import sign_record
from testkit.authority import PLANNER, POLICY, WRITERS
from testkit.kafka import (
    committed_total,
    goal,
    make_loop,
    run_until,
    started,
    started_for,
)

GOALS = 6


def _publish(kafka: KafkaSettings, codec) -> None:
    producer = EventProducer(kafka, codec, client_id="source")
    producer.send_all(goal(n) for n in range(GOALS))
    producer.flush()


def test_state_commits_only_once_the_broker_acknowledged_every_output(kafka, codec):
    _publish(kafka, codec)
    # A long linger: nothing leaves the producer's queue unless the loop flushes it.
    lingering = kafka.model_copy(update={"linger_ms": 5_000})
    producer = EventProducer(lingering, codec, client_id="relay")
    unacknowledged_at_commit: list[int] = []
    committed: list[str] = []

    def handler(batch: Sequence[Inbound]) -> Outcome:
        def commit() -> None:
            unacknowledged_at_commit.append(producer.in_flight)
            committed.extend(i.event.envelope.event_id for i in batch)

        return Outcome(started_for(batch), commit)

    loop = make_loop(kafka, codec, handler, producer=producer)
    run_until(loop, lambda: len(committed) == GOALS)
    loop.close()
    assert unacknowledged_at_commit, "no batch committed"
    assert set(unacknowledged_at_commit) == {0}, "state committed with outputs in flight"


def test_offsets_commit_only_after_the_state_of_their_batch(kafka, codec):
    _publish(kafka, codec)
    group = f"{kafka.topic_prefix}-relay"
    offsets_at_commit: list[tuple[int, int]] = []  # (committed offsets, events committed before)
    committed: list[str] = []

    def handler(batch: Sequence[Inbound]) -> Outcome:
        def commit() -> None:
            offsets_at_commit.append((committed_total(kafka, group, Topic.GOALS), len(committed)))
            committed.extend(i.event.envelope.event_id for i in batch)

        return Outcome(started_for(batch), commit)

    loop = make_loop(kafka, codec, handler)
    run_until(loop, lambda: len(committed) == GOALS)
    loop.close()
    assert offsets_at_commit, "no batch committed"
    for offsets, before in offsets_at_commit:
        assert offsets == before, "offsets moved past events whose state was not yet committed"
    assert committed_total(kafka, group, Topic.GOALS) == GOALS


def test_the_loop_hands_over_only_events_their_entitled_writer_signed(kafka, codec):
    """A run start is the planner's to write: unsigned or signed by another writer, it is
    dead-lettered and never reaches the handler; signed by the planner, it does."""
    runs = Topic.RUNS.full(kafka.topic_prefix)
    source = EventProducer(kafka, codec, client_id="source")
    forged, stolen, genuine = (started(goal(n)) for n in range(3))
    for event, signer in ((forged, None), (stolen, POLICY), (genuine, PLANNER)):
        value = codec.encode(event)
        headers = sign_record(signer, value) if signer is not None else []
        source.send_raw(runs, value, b"key", headers)
    source.flush()
    handled: list[str] = []

    def handler(batch: Sequence[Inbound]) -> list[Event]:
        handled.extend(i.event.envelope.event_id for i in batch)
        return []

    loop = make_loop(kafka, codec, handler, topic=Topic.RUNS, authority=EventAuthority(WRITERS))
    run_until(loop, lambda: loop.stats.consumed == 3)
    loop.close()
    assert handled == [genuine.envelope.event_id]
    assert loop.stats.dead_lettered == {"event_unsigned": 1, "event_writer_not_entitled": 1}
