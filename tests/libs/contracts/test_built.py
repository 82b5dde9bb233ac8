"""``built`` and ``updated`` make what pydantic's constructor and copy make, without validating.

They fill defaults, record the fields set and keep the field order as
pydantic does, copy mutable defaults, and refuse names the model lacks and
required fields left out; values are the caller's to type.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agentdeck.contracts import built, updated
from agentdeck.contracts import models as m

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PRODUCER = m.Producer(service="planner", version="1")
ENVELOPE = {
    "event_id": "e-1",
    "event_type": m.RunStarted.EVENT_TYPE,
    "schema_version": m.RunStarted.SCHEMA_VERSION,
    "correlation_id": "c-1",
    "tenant": "acme",
    "producer": PRODUCER,
    "occurred_at": NOW,
    "step_id": "s1",
}


def _same(a: BaseModel, b: BaseModel) -> None:
    assert type(a) is type(b)
    assert a == b
    assert a.model_fields_set == b.model_fields_set
    assert list(a.__dict__) == list(b.__dict__)


def test_built_is_the_validated_constructor_with_defaults_and_fields_set():
    _same(built(m.Envelope, ENVELOPE), m.Envelope(**ENVELOPE))  # type: ignore[arg-type]


def test_a_record_given_every_field_is_the_validated_constructors_in_any_order():
    every = {**ENVELOPE, "run_id": "r-1", "agent": "a", "traceparent": None, "tracestate": "t"}
    every = dict(reversed(every.items()))  # not in declaration order
    every["causation_id"] = "e-0"
    assert every.keys() == m.Envelope.model_fields.keys()
    first = built(m.Envelope, every)
    _same(first, m.Envelope(**every))
    _same(
        built(m.Envelope, {**every, "tenant": "other"}), m.Envelope(**{**every, "tenant": "other"})
    )

    assignable = built(_Open, {"size": 1, "name": "a"})
    _same(assignable, _Open(size=1, name="a"))
    assignable.size = 3
    assert built(_Open, {"size": 2, "name": "b"}).model_fields_set == {"name", "size"}
    with pytest.raises(TypeError, match=r"unknown fields \['tenantt'\]"):
        built(m.Envelope, {**{k: v for k, v in every.items() if k != "tenant"}, "tenantt": "x"})


class _Counts(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    counts: dict[str, int] = {}
    seen: list[str] = Field(default_factory=list)


def test_mutable_defaults_are_not_shared():
    first, second = built(_Counts, {"name": "a"}), built(_Counts, {"name": "b"})

    first.counts["x"] = 1
    first.seen.append("y")

    assert second.counts == {}
    assert second.seen == []
    assert _Counts(name="c").counts == {}


def test_names_the_model_lacks_and_missing_required_fields_are_refused():
    with pytest.raises(TypeError, match=r"unknown fields \['tenantt'\]"):
        built(m.Envelope, {**ENVELOPE, "tenantt": "x"})
    without_tenant = {k: v for k, v in ENVELOPE.items() if k != "tenant"}
    with pytest.raises(TypeError, match=r"missing fields \['tenant'\]"):
        built(m.Envelope, without_tenant)
    with pytest.raises(TypeError, match="unknown fields"):
        updated(m.Envelope(**ENVELOPE), {"stepid": "s2"})  # type: ignore[arg-type]


def test_updated_is_model_copy_with_update():
    envelope = m.Envelope(**ENVELOPE)  # type: ignore[arg-type]
    changes = {"run_id": "r-1", "step_id": None}

    copied = updated(envelope, changes)

    _same(copied, envelope.model_copy(update=changes))
    assert envelope.run_id is None  # the original is untouched
    assert copied.run_id == "r-1"


def test_models_with_private_attributes_are_refused():
    class Private(BaseModel):
        name: str
        _cache: str = ""

    with pytest.raises(TypeError, match="private"):
        built(Private, {"name": "x"})


class _Open(BaseModel):
    name: str = ""
    size: int = 0


def test_a_copys_fields_set_never_changes_the_originals():
    envelope = m.Envelope(**ENVELOPE)  # type: ignore[arg-type]
    before = set(envelope.model_fields_set)
    copied = updated(envelope, {"tenant": "other"})  # a field set already
    copied.model_copy(update={"run_id": "r-1"})
    assert envelope.model_fields_set == before
    assert copied.model_fields_set == before

    assignable = _Open(name="a")
    again = updated(assignable, {"name": "b"})
    again.size = 3  # an assignable model records the assignment in its own set
    assert assignable.model_fields_set == {"name"}
    assert again.model_fields_set == {"name", "size"}
