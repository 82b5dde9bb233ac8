"""Replay compares every recorded decision field by field, except the clock, producer and version.

Each test changes one recorded output of a golden run and replays it: a
changed field is a divergence at the decision that produced it; a changed
instant, producer or writer's schema version is not (they are not compared).
"""

from __future__ import annotations

import gc
from datetime import timedelta, timezone
from typing import Any

import pytest

from agentdeck.cli.replay import log_order
from agentdeck.contracts import Event, Producer, default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import Templates
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import _UNCOMPARED, ReplayResult, replay_run
from testkit import golden_runs as golden


def _events() -> list[Event]:
    return log_order(golden.read(golden.RUNS / "refund-auto.jsonl").decode(default_codec()))


def _replayed(events: list[Event]) -> ReplayResult:
    return replay_run(events, playbooks=bundled_playbooks(), tools=tool_infos(demo_registry()))


def _changed(events: list[Event], kind: type[Event], **fields: Any) -> tuple[list[Event], Event]:
    """``events`` with the last event of ``kind`` changed (``envelope__x`` for envelope fields)."""
    target = [e for e in events if isinstance(e, kind)][-1]
    envelope = {k.removeprefix("envelope__"): v for k, v in fields.items() if "__" in k}
    body = {k: v for k, v in fields.items() if "__" not in k}
    if envelope:
        body["envelope"] = target.envelope.model_copy(update=envelope)
    changed = target.model_copy(update=body)
    return [changed if e is target else e for e in events], target


def test_the_golden_run_replays_clean():
    assert _replayed(_events()).divergence is None


def test_a_replay_leaves_no_reference_cycles():
    # Replaying an archive holds the collector back (forking.rare_collections): a cycle
    # would keep a whole run's events and states alive until the next collection.
    events, templates = _events(), Templates()
    playbooks, tools = bundled_playbooks(), tool_infos(demo_registry())
    replay_run(events, playbooks=playbooks, tools=tools, templates=templates)
    gc.collect()
    gc.disable()
    try:
        replay_run(events, playbooks=playbooks, tools=tools, templates=templates)
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (m.ToolCallRequested, {"arguments_json": '{"order_id": "other"}'}),
        (m.ToolCallRequested, {"max_cost_micros": 1}),
        (m.ToolCallRequested, {"principal": m.Principal(producer="other", requested_by="x")}),
        (m.ToolCallRequested, {"attempt": 2}),
        (m.PlanProposed, {"steps": ()}),
        (m.RunStarted, {"limits": m.RunLimits(max_steps=3)}),
        (m.RunCompleted, {"output_json": "{}"}),
        (m.RunCompleted, {"envelope__step_id": "other"}),
        (m.RunCompleted, {"envelope__traceparent": None}),
        (m.ToolCallRequested, {"envelope__agent": "another-agent"}),
    ],
    ids=lambda v: getattr(v, "__name__", None) or ",".join(v),
)
def test_a_changed_recorded_field_is_a_divergence_at_its_decision(
    kind: type[Event], fields: dict[str, Any]
):
    events, target = _changed(_events(), kind, **fields)

    divergence = _replayed(events).divergence

    assert divergence is not None
    assert divergence.input_event.envelope.event_id == target.envelope.causation_id
    assert "(same ids, different content)" in divergence.describe()


def test_the_envelope_fields_replay_compares_are_all_text():
    # Replay compares them as one dict, where equal text is the same JSON; a field of another
    # type (an int equal to a bool) would need the field-by-field comparison.
    compared = [f for name, f in m.Envelope.model_fields.items() if name not in _UNCOMPARED]
    assert compared
    assert all(f.annotation in (str, str | None) for f in compared)


def test_a_deadline_at_the_same_instant_in_another_zone_is_a_divergence():
    events = _events()
    started = next(e for e in events if isinstance(e, m.RunStarted))
    deadline = started.envelope.occurred_at + timedelta(hours=1)
    goal = next(e for e in events if isinstance(e, m.GoalSubmitted))
    limits = goal.limits.model_copy(update={"deadline": deadline})
    events, _ = _changed(events, m.GoalSubmitted, limits=limits)
    events, _ = _changed(events, m.RunStarted, limits=limits)
    assert _replayed(events).divergence is None

    elsewhere = deadline.astimezone(timezone(timedelta(hours=2)))
    assert elsewhere == deadline
    events, _ = _changed(
        events, m.RunStarted, limits=limits.model_copy(update={"deadline": elsewhere})
    )

    assert _replayed(events).divergence is not None


def test_the_instant_producer_and_schema_version_of_a_recorded_output_are_not_compared():
    later = [e for e in _events() if isinstance(e, m.RunCompleted)][-1].envelope.occurred_at
    events, _ = _changed(
        _events(),
        m.ToolCallRequested,
        envelope__occurred_at=later + timedelta(seconds=5),
        envelope__producer=Producer(service="planner", version="older"),
        envelope__schema_version=99,
    )

    assert _replayed(events).divergence is None


def test_a_recorded_output_missing_or_extra_is_a_divergence():
    events = _events()
    request = [e for e in events if isinstance(e, m.ToolCallRequested)][-1]
    missing = _replayed([e for e in events if e is not request]).divergence
    doubled = _replayed([*events, request.model_copy()]).divergence

    assert missing is not None
    assert "(same ids" not in missing.describe()
    assert doubled is not None
