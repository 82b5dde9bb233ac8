"""Decoded events are made by compiled builders exactly as pydantic's validation makes them.

Every event model is built from records fastavro reads back (several data:
optional fields null or set, empty and long arrays, extreme values) both ways,
and the two must agree in values, in types all the way down and in the fields
recorded as set. What a builder cannot convert exactly it refuses, and the
codec validates those records, which says what is wrong with them.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from pydantic import BaseModel

from agentdeck.contracts import ALL_EVENTS, MARKER, DecodeError, SchemaRegistry, default_codec
from agentdeck.contracts import models as m
from agentdeck.contracts._reader import compile_reader
from testkit.avro import VARIANTS, avro_datum

REGISTRY = SchemaRegistry.load()


def _body(model: type[m.Event], variant: str) -> bytes:
    """A body of ``model``'s schema, as fastavro writes it."""
    parsed = REGISTRY.latest(model.EVENT_TYPE).parsed
    datum = avro_datum(parsed, {}, variant)
    datum["envelope"].update(event_type=model.EVENT_TYPE, schema_version=model.SCHEMA_VERSION)
    buf = BytesIO()
    schemaless_writer(buf, parsed, datum)
    return buf.getvalue()


def _record(model: type[m.Event], variant: str) -> dict[str, Any]:
    """A record of ``model``'s schema, as an Avro reader gives it."""
    parsed = REGISTRY.latest(model.EVENT_TYPE).parsed
    record = schemaless_reader(BytesIO(_body(model, variant)), parsed, None)
    assert isinstance(record, dict)
    return record


def _same(built: Any, validated: Any, at: str = "event") -> None:
    """Equal, of the same type all the way down, with the same fields set."""
    assert type(built) is type(validated), at
    if isinstance(built, BaseModel):
        assert built.model_fields_set == validated.model_fields_set, at
        assert list(built.__dict__) == list(validated.__dict__), at  # field order too
        for name in type(built).model_fields:
            _same(getattr(built, name), getattr(validated, name), f"{at}.{name}")
    elif isinstance(built, tuple):
        assert len(built) == len(validated), at
        for i, (a, b) in enumerate(zip(built, validated, strict=True)):
            _same(a, b, f"{at}[{i}]")
    elif isinstance(built, datetime):
        assert built == validated, at
        assert built.utcoffset() == validated.utcoffset(), at
    else:
        assert built == validated, at


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda model: model.__name__)
def test_a_compiled_reader_makes_the_model_validation_makes(model: type[m.Event], variant: str):
    read = compile_reader(REGISTRY.latest(model.EVENT_TYPE).parsed, model)
    assert read is not None  # every event model matches its schema
    body = _body(model, variant)

    event, end = read(b"head" + body, 4)

    assert end == 4 + len(body)
    _same(event, model.model_validate(_record(model, variant)))


def test_a_model_that_does_not_match_its_schema_has_no_compiled_reader():
    parsed = REGISTRY.latest(m.PolicyDecided.EVENT_TYPE).parsed
    assert compile_reader(parsed, m.ToolCallRequested) is None  # other fields

    class Retyped(m.PolicyDecided):  # the same fields, one of another type
        outcome: str  # type: ignore[assignment]

    assert list(Retyped.model_fields) == list(m.PolicyDecided.model_fields)
    assert compile_reader(parsed, Retyped) is None


def _read(model: type[m.Event], variant: str = "plain") -> Any:
    read = compile_reader(REGISTRY.latest(model.EVENT_TYPE).parsed, model)
    assert read is not None
    return read(_body(model, variant), 0)[0]


def test_enums_tuples_and_nested_records_are_converted():
    event = _read(m.PlanProposed)

    assert isinstance(event.steps, tuple)
    assert isinstance(event.steps[0], m.PlannedStep)
    assert isinstance(event.steps[0].depends_on, tuple)
    assert type(_read(m.PolicyDecided).outcome) is m.DecisionOutcome


def test_the_codec_validates_what_the_model_reader_does_not_read(monkeypatch: pytest.MonkeyPatch):
    codec = default_codec()
    event = m.PolicyDecided.model_validate(_record(m.PolicyDecided, "plain"))
    data = codec.encode(event)
    assert data[:2] == MARKER
    assert codec.decode(data) == event

    fresh = default_codec()
    fresh._model_readers[m.PolicyDecided] = None  # the record read as a dict
    assert fresh.decode(data) == event  # validated instead

    bad = _record(m.PolicyDecided, "plain")
    bad["outcome"] = "MAYBE"  # as a reader of a newer writer's symbol might give it
    monkeypatch.setattr(fresh, "_read_body", lambda *_args: bad)
    with pytest.raises(DecodeError) as caught:
        fresh.decode(data)
    assert caught.value.code == "invalid_payload"
