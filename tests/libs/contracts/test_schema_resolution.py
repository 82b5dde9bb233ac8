"""Decoding resolves an older writer version to the reader's (newest) version."""

import io
import json
import shutil
from pathlib import Path
from typing import ClassVar

import fastavro
import pytest

from agentdeck.contracts import (
    Codec,
    DecodeError,
    Event,
    SchemaError,
    SchemaRegistry,
    default_codec,
    schema_dir,
)
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import KillSwitchScope
from testkit.controls import kill_switch


class RunCancelledV2(Event):
    """What RunCancelled looks like once v2 adds an optional ticket field."""

    EVENT_TYPE: ClassVar[str] = "agentdeck.events.RunCancelled"
    SCHEMA_VERSION: ClassVar[int] = 2
    reason: str
    cancelled_by: str
    ticket: str | None = None


@pytest.fixture
def evolved(tmp_path: Path) -> SchemaRegistry:
    root = tmp_path / "schemas"
    shutil.copytree(schema_dir(), root)
    schema = json.loads((root / "events" / "RunCancelled.v1.avsc").read_text())
    schema["fields"].append(
        {"name": "ticket", "type": ["null", "string"], "default": None, "doc": "Ticket."}
    )
    (root / "events" / "RunCancelled.v2.avsc").write_text(json.dumps(schema))
    return SchemaRegistry.load(root)


def test_a_v1_record_is_read_into_the_v2_model(evolved):
    codec = Codec(evolved, [RunCancelledV2])
    v1 = evolved.get("agentdeck.events.RunCancelled", 1)
    event = codec.decode(example_message(v1))
    assert isinstance(event, RunCancelledV2)
    assert event.ticket is None
    assert event.reason == "reason-example"
    assert event.envelope.schema_version == 1, "the envelope still says what was written"


def test_new_records_are_written_with_the_newest_version(evolved):
    codec = Codec(evolved, [RunCancelledV2])
    v1 = evolved.get("agentdeck.events.RunCancelled", 1)
    event = codec.decode(example_message(v1))
    v2 = evolved.latest("agentdeck.events.RunCancelled")
    rewritten = event.model_copy(
        update={"envelope": event.envelope.model_copy(update={"schema_version": 2})}
    )
    assert codec.encode(rewritten)[2:10] == v2.fingerprint


def test_a_consumer_that_does_not_know_the_new_version_dead_letters_it(evolved, codec):
    new = Codec(evolved, [RunCancelledV2])
    v2 = evolved.latest("agentdeck.events.RunCancelled")
    with pytest.raises(DecodeError) as caught:
        codec.decode(new.encode(new.decode(example_message(v2))))
    assert caught.value.code == "unknown_fingerprint"


def test_a_model_older_than_the_schemas_is_refused_at_start(evolved):
    from agentdeck.contracts.models import RunCancelled

    with pytest.raises(SchemaError, match="regenerate the models"):
        Codec(evolved, [RunCancelled])


def test_a_reader_of_kill_switches_v1_reads_a_run_switch_as_a_tool_switch_that_stops_nothing():

    codec = default_codec()
    message = codec.encode(kill_switch(KillSwitchScope.RUN, "run-1"))
    name = "agentdeck.events.KillSwitchSet"
    writer, reader = codec.registry.latest(name), codec.registry.get(name, 1)
    assert writer.version == 2
    old = fastavro.schemaless_reader(io.BytesIO(message[10:]), writer.parsed, reader.parsed)
    assert (old["scope"], old["target"]) == ("TOOL", "run-1")
