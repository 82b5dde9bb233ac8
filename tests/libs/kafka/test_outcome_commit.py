"""A handler's state is committed only after the events it implies are acknowledged."""

from collections.abc import Sequence

from agentdeck.errors import RetryableError
from agentdeck.kafka import EventProducer, Inbound, Outcome, Topic
from testkit.kafka import goal, make_loop, read_topic, run_until, started_for


def test_state_commits_after_its_outputs_are_on_the_broker(kafka, codec):
    producer = EventProducer(kafka, codec, client_id="src")
    producer.send_all(goal(n) for n in range(4))
    producer.flush()
    runs = Topic.RUNS.full(kafka.topic_prefix)
    visible_at_commit: list[int] = []
    committed: list[str] = []

    def handler(batch: Sequence[Inbound]) -> Outcome:
        events = started_for(batch)

        def commit() -> None:
            visible_at_commit.append(len(read_topic(kafka, runs, len(events), timeout_s=5)))
            committed.extend(i.event.envelope.event_id for i in batch)

        return Outcome(events, commit)

    loop = make_loop(kafka, codec, handler)
    run_until(loop, lambda: len(committed) == 4)
    loop.close()
    assert visible_at_commit[-1] >= 1
    assert sum(visible_at_commit) >= 4, "every commit saw its batch's outputs on the broker"


def test_a_failed_commit_retries_the_batch_and_republishes_the_same_ids(kafka, codec):
    producer = EventProducer(kafka, codec, client_id="src")
    producer.send_all(goal(n) for n in range(3))
    producer.flush()
    attempts: list[int] = []
    committed: list[str] = []

    def handler(batch: Sequence[Inbound]) -> Outcome:
        def commit() -> None:
            attempts.append(len(batch))
            if len(attempts) == 1:
                raise RetryableError("database away", capability="store", code="unavailable")
            committed.extend(i.event.envelope.event_id for i in batch)

        return Outcome(started_for(batch), commit)

    loop = make_loop(kafka, codec, handler)
    run_until(loop, lambda: len(committed) == 3)
    loop.close()
    assert loop.stats.retries == 1
    assert sorted(committed) == sorted(goal(n).envelope.event_id for n in range(3))
    published = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 3 + attempts[0])
    ids = [codec.decode(m.value()).envelope.event_id for m in published]
    assert len(set(ids)) == 3, "the retry republished the same event ids, nothing new"


def test_when_a_batch_fails_each_event_sees_the_state_the_one_before_it_committed(kafka, codec):
    producer = EventProducer(kafka, codec, client_id="src")
    producer.send_all([goal(1), goal(2), goal(99), goal(3)])
    producer.flush()
    durable = {"count": 0}
    seen: list[int] = []
    poison = goal(99).envelope.event_id

    def handler(batch: Sequence[Inbound]) -> Outcome:
        if any(i.event.envelope.event_id == poison for i in batch):
            raise ValueError("cannot handle goal 99")
        seen.append(durable["count"])

        def commit() -> None:
            durable["count"] += len(batch)

        return Outcome(started_for(batch), commit)

    loop = make_loop(kafka, codec, handler)
    run_until(loop, lambda: loop.stats.consumed >= 4)
    loop.close()
    if len(seen) == 3:  # the four arrived in one batch and were isolated one by one
        assert seen == [0, 1, 2]
    assert durable["count"] == 3
    assert loop.stats.dead_lettered == {"handler_error": 1}
