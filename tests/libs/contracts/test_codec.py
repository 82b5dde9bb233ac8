from datetime import UTC, datetime

import pytest

from agentdeck.contracts import (
    MARKER,
    DecodeError,
    Producer,
    default_codec,
    deterministic_id,
    envelope_for,
    follow_up,
)
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import GoalSubmitted, PlannerKind, RunLimits, RunStarted

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
PRODUCER = Producer(service="test", version="1")


@pytest.fixture(scope="module")
def codec():
    return default_codec()


def _goal() -> GoalSubmitted:
    envelope = envelope_for(
        GoalSubmitted,
        event_id=deterministic_id("goal", "1"),
        tenant="acme",
        producer=PRODUCER,
        occurred_at=NOW,
        run_id="run-1",
    )
    return GoalSubmitted(envelope=envelope, goal="refund", requested_by="crm", limits=RunLimits())


def test_every_event_type_round_trips(codec):
    for version in codec.registry.versions():
        event = codec.decode(example_message(version))
        assert version.full_name == type(event).EVENT_TYPE
        latest = codec.registry.latest(version.full_name)
        again = codec.decode(codec.encode(event))
        assert again.envelope.schema_version == latest.version
        if latest is version:
            assert codec.encode(event) == example_message(version)


def test_encoding_starts_with_the_marker_and_the_writer_fingerprint(codec):
    data = codec.encode(_goal())
    assert data[:2] == MARKER
    assert data[2:10] == codec.writer_of(GoalSubmitted).fingerprint


def test_follow_up_events_inherit_run_and_trace_and_get_deterministic_ids():
    goal = _goal()
    first = follow_up(goal, RunStarted, producer=PRODUCER, occurred_at=NOW)
    again = follow_up(goal, RunStarted, producer=PRODUCER, occurred_at=NOW)
    assert first.event_id == again.event_id != goal.envelope.event_id
    assert (first.run_id, first.causation_id) == ("run-1", goal.envelope.event_id)
    assert first.correlation_id == goal.envelope.correlation_id
    started = RunStarted(
        envelope=first, planner=PlannerKind.LLM, pinned_version="m", limits=RunLimits()
    )
    assert started.envelope.event_type == "agentdeck.events.RunStarted"


def test_an_envelope_that_lies_about_its_type_is_refused(codec):
    goal = _goal()
    lying = goal.model_copy(
        update={
            "envelope": goal.envelope.model_copy(
                update={"event_type": "agentdeck.events.RunStarted"}
            )
        }
    )
    with pytest.raises(DecodeError) as caught:
        codec.decode(codec.encode(lying))
    assert caught.value.code == "envelope_mismatch"


def test_a_writer_read_before_is_read_directly_and_refused_as_before(codec):
    goal = _goal()
    data = codec.encode(goal)
    assert codec.decode(data) == goal
    assert data[:10] in codec._direct  # its model's reader, directly from now on
    assert codec.decode(data) == goal
    lying = goal.model_copy(
        update={"envelope": goal.envelope.model_copy(update={"event_type": "x.Other"})}
    )
    small = default_codec(max_bytes=len(data) + 5)
    small.decode(data)
    for bad, code, using in [
        (codec.encode(lying), "envelope_mismatch", codec),
        (data + b"\x00", "trailing_bytes", codec),
        (data[:-1], "corrupt_body", codec),
        (data + b"\x00" * 10, "oversized", small),
    ]:
        with pytest.raises(DecodeError) as caught:
            using.decode(bad)
        assert caught.value.code == code


def test_a_codec_that_opens_personal_data_never_reads_directly(codec, monkeypatch):
    goal = _goal()
    data = codec.encode(goal)
    codec.decode(data)
    opened: list[str] = []
    monkeypatch.setattr(codec.sensitive, "open", lambda event_type, *_: opened.append(event_type))
    monkeypatch.setattr(codec, "cipher", object())  # a cipher set after the first reads

    assert codec.decode(data) == goal
    assert opened == [GoalSubmitted.EVENT_TYPE]


def test_naive_timestamps_are_rejected_at_construction():
    with pytest.raises(ValueError, match="timezone"):
        envelope_for(
            GoalSubmitted,
            event_id="x",
            tenant="t",
            producer=PRODUCER,
            occurred_at=datetime(2026, 1, 1),  # noqa: DTZ001
        )
