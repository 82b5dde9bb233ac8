"""``log_order``: by clock reading, then cause before effect, then by id, in any input order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from agentdeck.cli.replay import log_order
from agentdeck.contracts import Event, default_codec
from testkit import golden_runs as golden

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _restamped(event: Event, event_id: str, cause: str | None) -> Event:
    envelope = event.envelope.model_copy(
        update={"event_id": event_id, "causation_id": cause, "occurred_at": AT}
    )
    return event.model_copy(update={"envelope": envelope})


def _chain(*ids: str, seconds: tuple[int, ...] = ()) -> list[Event]:
    """Events each caused by the one before, stamped at one instant (or ``seconds`` after)."""
    events = golden.read(golden.RUNS / "refund-auto.jsonl").decode(default_codec())[: len(ids)]
    causes = [None, *ids[:-1]]
    chain = [_restamped(e, i, c) for e, i, c in zip(events, ids, causes, strict=True)]
    return [_later(e, s) for e, s in zip(chain, seconds or (0,) * len(ids), strict=True)]


def _later(event: Event, seconds: int) -> Event:
    envelope = event.envelope.model_copy(update={"occurred_at": AT + timedelta(seconds=seconds)})
    return event.model_copy(update={"envelope": envelope})


def _ids(events: list[Event]) -> list[str]:
    return [e.envelope.event_id for e in events]


def test_at_one_instant_a_cause_comes_before_its_effects_whatever_their_ids():
    chain = _chain("d", "c", "b", "a")  # ids sort the other way round

    for order in itertools.permutations(chain):
        assert _ids(log_order(list(order))) == ["d", "c", "b", "a"]


def test_each_instant_shared_by_several_events_is_put_in_order_on_its_own():
    chain = _chain("e", "d", "c", "b", "a", seconds=(0, 0, 1, 2, 2))

    for order in (chain, chain[::-1], chain[2:] + chain[:2]):
        assert _ids(log_order(order)) == ["e", "d", "c", "b", "a"]


def test_events_of_one_depth_at_one_instant_come_by_id():
    root, effect = _chain("r", "y")
    sibling = _restamped(effect, "x", "r")

    assert _ids(log_order([effect, sibling, root])) == ["r", "x", "y"]


def test_a_cause_outside_the_events_counts_as_none_and_a_cycle_ends():
    first, second = _chain("p", "q")
    orphan = _restamped(first, "p", "not-here")
    looped = _restamped(orphan, "p", "q")

    assert _ids(log_order([second, orphan])) == ["p", "q"]
    assert sorted(_ids(log_order([second, looped]))) == ["p", "q"]


def test_the_clock_comes_before_the_causes():
    cause, effect = _chain("b", "a")
    stamped_earlier = effect.envelope.model_copy(update={"occurred_at": AT.replace(year=2025)})
    earlier_effect = effect.model_copy(update={"envelope": stamped_earlier})

    assert _ids(log_order([cause, earlier_effect])) == ["a", "b"]
