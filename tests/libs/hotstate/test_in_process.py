"""The in-process adapter on an injected clock: expiry exact to the millisecond."""

from __future__ import annotations

import pytest

from agentdeck.hotstate import InProcessHotState


class ManualClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> InProcessHotState:
    return InProcessHotState(clock=clock)


def test_a_key_lives_through_its_deadline_and_is_gone_just_after(
    state: InProcessHotState, clock: ManualClock
) -> None:
    state.cache_set("prompt", b"answer", ttl_s=1.0)

    clock.advance(1.0)
    assert state.cache_get("prompt") == b"answer"

    clock.advance(0.001)
    assert state.cache_get("prompt") is None


def test_retry_after_is_the_time_until_the_oldest_hit_leaves_the_window(
    state: InProcessHotState, clock: ManualClock
) -> None:
    state.hit("api", limit=2, window_s=10.0)
    clock.advance(4.0)
    state.hit("api", limit=2, window_s=10.0)
    clock.advance(1.0)

    denied = state.hit("api", limit=2, window_s=10.0)
    assert denied.retry_after_s == pytest.approx(5.0)

    clock.advance(5.0)
    assert state.hit("api", limit=2, window_s=10.0).count == 2


def test_durations_are_honoured_to_the_millisecond(
    state: InProcessHotState, clock: ManualClock
) -> None:
    state.first_seen(["event-1"], ttl_s=0.0104)  # rounds to 10 ms

    clock.advance(0.0101)
    assert state.first_seen(["event-1"], ttl_s=1.0) == [True]


def test_a_counter_deadline_survives_later_increments(
    state: InProcessHotState, clock: ManualClock
) -> None:
    state.incr("calls", ttl_s=60.0)
    clock.advance(59.0)
    state.incr("calls", ttl_s=60.0)
    assert state.get_counter("calls") == 2

    clock.advance(1.5)
    assert state.get_counter("calls") == 0


def test_a_session_expires_a_full_ttl_after_its_last_append(
    state: InProcessHotState, clock: ManualClock
) -> None:
    state.session_append("run-1", b"one", ttl_s=10.0, max_items=5)
    clock.advance(9.0)
    state.session_append("run-1", b"two", ttl_s=10.0, max_items=5)
    clock.advance(9.0)
    assert state.session_read("run-1") == [b"one", b"two"]

    clock.advance(1.5)
    assert state.session_read("run-1") == []
