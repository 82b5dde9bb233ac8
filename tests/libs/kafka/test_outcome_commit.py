"""A handler's commit: retried with its batch when it fails, run event by event when a batch
fails. (That it runs only once the outputs are acknowledged: ``test_loop_invariants``.)"""

from collections.abc import Sequence

from agentdeck.errors import RetryableError
from agentdeck.kafka import EventProducer, Inbound, Outcome, Topic
from testkit.kafka import goal, make_loop, read_topic, run_until, started_for


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
    seen: list[int] = []  # the durable count each successful handler call saw
    done: list[int] = []  # how many events each commit added, in order
    poison = goal(99).envelope.event_id

    def handler(batch: Sequence[Inbound]) -> Outcome:
        if any(i.event.envelope.event_id == poison for i in batch):
            raise ValueError("cannot handle goal 99")
        seen.append(durable["count"])

        def commit() -> None:
            durable["count"] += len(batch)
            done.append(len(batch))

        return Outcome(started_for(batch), commit)

    loop = make_loop(kafka, codec, handler)
    run_until(loop, lambda: loop.stats.consumed >= 4)
    loop.close()
    # However the four arrived (one batch isolated event by event, or several batches),
    # each handler call saw the commits of every call before it.
    assert len(seen) == len(done)
    assert seen == [sum(done[:i]) for i in range(len(seen))]
    assert durable["count"] == 3
    assert loop.stats.dead_lettered == {"handler_error": 1}
