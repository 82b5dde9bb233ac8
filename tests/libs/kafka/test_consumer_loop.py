from collections.abc import Sequence

from agentdeck.contracts import Codec, Event
from agentdeck.contracts.models import DeadLettered, GoalSubmitted, RunStarted
from agentdeck.errors import RetryableError, TerminalError
from agentdeck.kafka import EventProducer, Inbound, InMemoryProcessedLog, Topic
from agentdeck.kafka.headers import EVENT_TYPE, record_headers
from agentdeck.settings import KafkaSettings
from testkit.kafka import committed_total, goal, make_loop, read_topic, run_until, started_for


def _publish(
    kafka: KafkaSettings, codec: Codec, events: Sequence[Event], raw: Sequence[bytes] = ()
):
    producer = EventProducer(kafka, codec, client_id="publisher")
    for event in events:
        producer.send(event)
    for value in raw:
        producer.send_raw(Topic.GOALS.full(kafka.topic_prefix), value, b"run-x", [])
    producer.flush()


def _dead_letters(kafka: KafkaSettings, codec: Codec, count: int) -> list[DeadLettered]:
    messages = read_topic(kafka, Topic.DEAD_LETTERS.full(kafka.topic_prefix), count)
    letters = [codec.decode(m.value()) for m in messages]
    assert all(isinstance(letter, DeadLettered) for letter in letters)
    return letters  # type: ignore[return-value]


def test_outputs_are_published_and_offsets_committed_after_a_batch(kafka, codec):
    _publish(kafka, codec, [goal(n) for n in range(30)])
    loop = make_loop(kafka, codec, started_for)
    run_until(loop, lambda: loop.stats.handled == 30)
    loop.close()
    started = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 30)
    assert {codec.decode(m.value()).envelope.run_id for m in started} == {
        f"run-{n}" for n in range(30)
    }
    assert loop.stats.batches < 30, "events are handled in batches"

    assert committed_total(kafka, loop.group, Topic.GOALS) == 30


def test_malformed_records_are_dead_lettered_and_the_loop_goes_on(kafka, codec):
    garbage = [b"", b"not avro at all", b"\xc3\x01" + b"\x00" * 8 + b"body"]
    _publish(kafka, codec, [goal(1)], raw=garbage)
    _publish(kafka, codec, [goal(2)])
    loop = make_loop(kafka, codec, started_for)
    run_until(loop, lambda: loop.stats.handled == 2 and sum(loop.stats.dead_lettered.values()) == 3)
    loop.close()
    assert loop.stats.dead_lettered == {"truncated": 1, "bad_marker": 1, "unknown_fingerprint": 1}
    letters = _dead_letters(kafka, codec, 3)
    assert sorted(letter.original_value for letter in letters) == sorted(garbage)
    for letter in letters:
        assert letter.failure.capability == "codec.decode"
        assert letter.failure.retryable is False
        assert letter.failure.remediation
        assert letter.source_topic == Topic.GOALS.full(kafka.topic_prefix)
        assert letter.original_key == b"run-x"
    # The reason travels in plain headers too, for tools that read no Avro.
    for message in read_topic(kafka, Topic.DEAD_LETTERS.full(kafka.topic_prefix), 3):
        letter = codec.decode(message.value())
        headers = dict(record_headers(message))
        source = f"{letter.source_topic}:{letter.source_partition}:{letter.source_offset}"
        assert {k: v for k, v in headers.items() if k.startswith("agentdeck-dlq-")} == {
            "agentdeck-dlq-code": letter.failure.code.encode(),
            "agentdeck-dlq-category": b"VALIDATION",
            "agentdeck-dlq-retryable": b"false",
            "agentdeck-dlq-capability": b"codec.decode",
            "agentdeck-dlq-source": source.encode(),
            "agentdeck-dlq-group": loop.group.encode(),
        }


def test_a_handler_failing_on_one_event_dead_letters_only_that_event(kafka, codec):
    def fussy(batch: Sequence[Inbound]) -> list[Event]:
        if any(i.event.envelope.run_id == "run-3" for i in batch):
            raise ValueError("cannot plan run-3")
        return started_for(batch)

    _publish(kafka, codec, [goal(n) for n in range(6)])
    loop = make_loop(kafka, codec, fussy)
    run_until(loop, lambda: loop.stats.consumed == 6)
    loop.close()
    assert loop.stats.dead_lettered == {"handler_error": 1}
    [letter] = _dead_letters(kafka, codec, 1)
    assert letter.envelope.run_id == "run-3"
    assert "cannot plan run-3" in letter.failure.message
    started = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 5)
    assert len(started) == 5


def test_a_terminal_failure_keeps_its_machine_readable_reason(kafka, codec):
    def refuse(_batch: Sequence[Inbound]) -> list[Event]:
        raise TerminalError(
            "unknown tool frobnicate",
            capability="planner.plan",
            code="unknown_tool",
            remediation=("register the tool",),
        )

    _publish(kafka, codec, [goal(1)])
    loop = make_loop(kafka, codec, refuse)
    run_until(loop, lambda: loop.stats.consumed == 1)
    loop.close()
    [letter] = _dead_letters(kafka, codec, 1)
    assert (letter.failure.code, letter.failure.capability) == ("unknown_tool", "planner.plan")
    assert letter.failure.remediation == ("register the tool",)


def test_a_retryable_failure_reprocesses_the_batch_without_losing_it(kafka, codec):
    calls: list[int] = []

    def flaky(batch: Sequence[Inbound]) -> list[Event]:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RetryableError("database away", capability="store", code="db_unreachable")
        return started_for(batch)

    _publish(kafka, codec, [goal(n) for n in range(5)])
    loop = make_loop(kafka, codec, flaky)
    run_until(loop, lambda: loop.stats.handled == 5)
    loop.close()
    assert loop.stats.retries == 1
    assert not loop.stats.dead_lettered
    assert len(read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 5)) == 5


def test_duplicate_events_are_suppressed_by_event_id(kafka, codec):
    _publish(kafka, codec, [goal(1), goal(2), goal(1), goal(2), goal(1)])
    seen: list[str] = []

    def record(batch: Sequence[Inbound]) -> list[Event]:
        seen.extend(i.event.envelope.event_id for i in batch)
        return []

    loop = make_loop(kafka, codec, record, processed=InMemoryProcessedLog())
    run_until(loop, lambda: loop.stats.consumed == 5)
    loop.close()
    assert sorted(seen) == sorted({goal(1).envelope.event_id, goal(2).envelope.event_id})
    assert loop.stats.duplicates == 3


def test_started_events_follow_their_goal(kafka, codec):
    _publish(kafka, codec, [goal(7)])
    loop = make_loop(kafka, codec, started_for)
    run_until(loop, lambda: loop.stats.handled == 1)
    loop.close()
    [message] = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 1)
    started = codec.decode(message.value())
    assert isinstance(started, RunStarted)
    assert started.envelope.causation_id == goal(7).envelope.event_id
    assert message.key() == b"run-7"


def test_records_of_unwanted_types_are_committed_without_being_decoded(kafka, codec):
    wanted = codec.writer_of(GoalSubmitted).full_name
    producer = EventProducer(kafka, codec, client_id="publisher")
    goals = Topic.GOALS.full(kafka.topic_prefix)
    for n in range(3):
        producer.send(goal(n))
    # Not decodable, but typed as something the loop does not want: skipped, not dead-lettered.
    producer.send_raw(goals, b"garbage", b"run-x", [(EVENT_TYPE, b"agentdeck.events.RunStarted")])
    producer.send_raw(goals, b"untyped garbage", b"run-x", [])  # no type header: decoded
    producer.flush()
    handled: list[str] = []

    def keep(batch: Sequence[Inbound]) -> list[Event]:
        handled.extend(type(i.event).__name__ for i in batch)
        return []

    loop = make_loop(kafka, codec, keep, wanted=[wanted])
    run_until(loop, lambda: loop.stats.consumed == 5)
    loop.close()
    assert handled == ["GoalSubmitted"] * 3
    assert loop.stats.skipped == 1
    assert loop.stats.dead_lettered == {"bad_marker": 1}
    assert committed_total(kafka, loop.group, Topic.GOALS) == 5
