"""Property: whatever mix of good and bad records arrives, every good event is handled
exactly once, every bad record is dead-lettered with a specific reason, and the loop
keeps consuming."""

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdeck.contracts import MARKER, Codec, Event
from agentdeck.kafka import EventProducer, Inbound, Topic
from agentdeck.settings import KafkaSettings
from testkit.kafka import goal, make_loop, run_until

VALID = goal(0)


def _corrupt(codec: Codec, kind: str, seed: int) -> tuple[bytes, str]:
    good = codec.encode(VALID)
    return {
        "random": (b"\x00" + seed.to_bytes(4, "big") * 3, "bad_marker"),
        "truncated": (good[: 2 + seed % 8], "truncated"),
        "unknown_fingerprint": (
            MARKER + seed.to_bytes(8, "big") + good[10:],
            "unknown_fingerprint",
        ),
        "trailing": (good + b"\x01", "trailing_bytes"),
        "oversized": (good + b"\x00" * 100_001, "oversized"),
    }[kind]


RECORDS = st.lists(
    st.one_of(
        st.integers(min_value=1, max_value=10_000).map(lambda n: ("good", n)),
        st.tuples(
            st.sampled_from(
                ["random", "truncated", "unknown_fingerprint", "trailing", "oversized"]
            ),
            st.integers(min_value=0, max_value=2**31),
        ),
    ),
    min_size=1,
    max_size=12,
)


def test_no_mix_of_bad_records_stops_the_loop_or_loses_a_good_event(
    kafka: KafkaSettings, codec: Codec
):
    handled: list[str] = []

    def record(batch: Sequence[Inbound]) -> list[Event]:
        handled.extend(i.event.envelope.event_id for i in batch)
        return []

    loop = make_loop(kafka, codec, record)
    producer = EventProducer(kafka, codec, client_id="mix")
    topic = Topic.GOALS.full(kafka.topic_prefix)
    example = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(RECORDS)
    def check(records: list[tuple[str, int]]) -> None:
        round_ = next(example)
        handled.clear()
        loop.stats.dead_lettered.clear()
        expected_ids, expected_codes = [], []
        for index, (kind, seed) in enumerate(records):
            if kind == "good":
                event = goal(round_ * 100 + index)
                expected_ids.append(event.envelope.event_id)
                producer.send(event, topic=topic)
            else:
                value, code = _corrupt(codec, kind, seed)
                expected_codes.append(code)
                producer.send_raw(topic, value, None, [])
        producer.flush()
        consumed = loop.stats.consumed
        run_until(loop, lambda: loop.stats.consumed - consumed >= len(records))
        assert sorted(handled) == sorted(set(expected_ids))
        assert sorted(loop.stats.dead_lettered.elements()) == sorted(expected_codes)

    try:
        check()
    finally:
        loop.close()
