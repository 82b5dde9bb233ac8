"""``agentdeck dead-letters``: list, show and redrive through the real CLI, on the real stack."""

import time
import uuid

from agentdeck.cli.app import main
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.kafka import EventProducer, Topic
from agentdeck.settings import KafkaSettings
from testkit.kafka import read_topic


def _kafka(platform):
    return KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )


def _letters_of(platform, value, count):
    """The planner's dead letters holding ``value`` once there are ``count`` (or what there is).

    Telemetry refuses an undecodable record too (its archive loop reads every topic).
    """
    topic = Topic.DEAD_LETTERS.full(platform.info.topic_prefix)
    deadline = time.monotonic() + 30
    while True:
        decoded = [
            default_codec().decode(r.value()) for r in read_topic(_kafka(platform), topic, 1000, 1)
        ]
        ours = [
            d
            for d in decoded
            if isinstance(d, m.DeadLettered)
            and d.original_value == value
            and d.consumer_group.endswith(".runs")
        ]
        if len(ours) >= count or time.monotonic() > deadline:
            return ours
        time.sleep(0.2)


def test_a_dead_letter_is_listed_shown_and_redriven_once(cli_env, capsys):
    garbage = f"not avro {uuid.uuid4().hex}".encode()
    producer = EventProducer(_kafka(cli_env), default_codec(), client_id="garbage")
    goals = Topic.GOALS.full(cli_env.info.topic_prefix)
    producer.send_raw(goals, garbage, b"k-1", [("origin", b"crm")])
    producer.flush()
    (letter,) = _letters_of(cli_env, garbage, 1)
    short = letter.envelope.event_id[:8]

    assert main(["dead-letters", "list", "--code", "bad_marker", "--topic", "goals"]) == 0
    listed = capsys.readouterr().out
    assert short in listed
    assert f"{goals}:{letter.source_partition}:{letter.source_offset}" in listed

    assert main(["dead-letters", "show", short]) == 0
    shown = capsys.readouterr().out
    assert "codec.decode: bad_marker (VALIDATION, not retryable)" in shown
    assert "headers: origin" in shown

    assert main(["dead-letters", "redrive", short]) == 0
    assert f"redriven {letter.envelope.event_id}" in capsys.readouterr().out
    first, again = _letters_of(cli_env, garbage, 2)[:2]
    assert first.envelope.event_id == letter.envelope.event_id
    assert (again.source_topic, again.original_key) == (goals, b"k-1"), "the same record, back"
    assert [(h.key, h.value) for h in again.original_headers] == [("origin", b"crm")]
    assert again.source_offset != letter.source_offset

    assert main(["dead-letters", "redrive", short]) == 1
    refused = capsys.readouterr().err.strip().splitlines()
    assert len(refused) == 1
    assert "was redriven already" in refused[0]
    assert main(["dead-letters", "list", "--code", "bad_marker"]) == 0
    assert short in capsys.readouterr().out


def test_an_unknown_dead_letter_id_is_one_line(cli_env, capsys):
    assert main(["dead-letters", "show", "ffffffffffff"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["agentdeck: error: no dead letter with an id starting 'ffffffffffff'"]
