"""Contract: sliding rate windows, on every adapter."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentdeck.hotstate import HotState, RateDecision


def test_hits_up_to_the_limit_are_allowed_and_the_next_is_denied(hot_state: HotState) -> None:
    decisions = [hot_state.hit("api", limit=3, window_s=5.0) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 3]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert all(d.retry_after_s == 0.0 for d in decisions[:3])
    assert 4.0 < decisions[3].retry_after_s <= 5.0


def test_the_window_slides_so_hits_are_allowed_again_after_retry_after(
    hot_state: HotState,
) -> None:
    for _ in range(2):
        assert hot_state.hit("api", limit=2, window_s=0.3).allowed
    denied = hot_state.hit("api", limit=2, window_s=0.3)
    assert not denied.allowed

    time.sleep(denied.retry_after_s + 0.05)

    assert hot_state.hit("api", limit=2, window_s=0.3) == RateDecision(
        allowed=True, count=1, limit=2, retry_after_s=0.0
    )


def test_a_denied_hit_is_not_counted(hot_state: HotState) -> None:
    assert hot_state.hit("api", limit=2, window_s=0.6).allowed
    time.sleep(0.3)
    assert hot_state.hit("api", limit=2, window_s=0.6).allowed
    denied = hot_state.hit("api", limit=2, window_s=0.6)
    assert not denied.allowed
    assert denied.retry_after_s <= 0.3

    time.sleep(denied.retry_after_s + 0.05)

    # Only the first hit has left the window; a counted denial would still fill it.
    after = hot_state.hit("api", limit=2, window_s=0.6)
    assert (after.allowed, after.count) == (True, 2)


def test_concurrent_hits_allow_exactly_the_limit(hot_state: HotState) -> None:
    start = threading.Barrier(8)

    def hit_fifty_times(_: int) -> int:
        start.wait()
        return sum(hot_state.hit("busy", limit=100, window_s=30.0).allowed for _ in range(50))

    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = sum(pool.map(hit_fifty_times, range(8)))

    assert allowed == 100
    assert hot_state.hit("busy", limit=100, window_s=30.0).count == 100


def test_windows_of_different_keys_are_independent(hot_state: HotState) -> None:
    assert hot_state.hit("a", limit=1, window_s=5.0).allowed
    assert not hot_state.hit("a", limit=1, window_s=5.0).allowed
    assert hot_state.hit("b", limit=1, window_s=5.0).allowed


def test_a_lowered_limit_waits_until_enough_hits_have_left_the_window(
    hot_state: HotState,
) -> None:
    for _ in range(3):
        hot_state.hit("api", limit=3, window_s=5.0)

    denied = hot_state.hit("api", limit=1, window_s=5.0)

    assert (denied.allowed, denied.count, denied.remaining) == (False, 3, 0)
    assert 0.0 < denied.retry_after_s <= 5.0


@pytest.mark.parametrize(("limit", "window_s"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -1.0)])
def test_hit_refuses_a_limit_below_one_or_a_window_that_is_not_positive(
    hot_state: HotState, limit: int, window_s: float
) -> None:
    with pytest.raises(ValueError, match="must be"):
        hot_state.hit("api", limit=limit, window_s=window_s)
