"""Contract: counters, on every adapter."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentdeck.hotstate import HotState


def test_an_absent_counter_reads_as_zero(hot_state: HotState) -> None:
    assert hot_state.get_counter("calls") == 0


def test_integer_increments_stay_ints(hot_state: HotState) -> None:
    assert hot_state.incr("calls") == 1
    assert hot_state.incr("calls", 5) == 6
    assert hot_state.incr("calls", -2) == 4

    value = hot_state.get_counter("calls")
    assert value == 4
    assert type(value) is int


def test_decimal_amounts_add_up_as_decimals(hot_state: HotState) -> None:
    assert hot_state.incr("spend", 0.1) == 0.1
    assert hot_state.incr("spend", 0.2) == 0.3
    assert type(hot_state.get_counter("spend")) is float
    assert hot_state.get_counter("spend") == 0.3


def test_a_counter_that_becomes_integral_reads_as_an_int(hot_state: HotState) -> None:
    hot_state.incr("spend", 2)
    assert hot_state.incr("spend", 0.5) == 2.5

    value = hot_state.incr("spend", 0.5)

    assert value == 3
    assert type(value) is int
    assert type(hot_state.get_counter("spend")) is int


def test_a_counter_with_a_ttl_expires_at_the_deadline_set_when_it_was_created(
    hot_state: HotState,
) -> None:
    hot_state.incr("window", ttl_s=0.4)
    hot_state.incr("forever")
    time.sleep(0.25)
    assert hot_state.incr("window", ttl_s=0.4) == 2  # does not push the deadline out
    time.sleep(0.25)

    assert hot_state.get_counter("window") == 0
    assert hot_state.get_counter("forever") == 1
    assert hot_state.incr("window", ttl_s=0.4) == 1


def test_concurrent_increments_are_all_counted(hot_state: HotState) -> None:
    def add_fifty(_: int) -> None:
        for _ in range(50):
            hot_state.incr("calls", ttl_s=30.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add_fifty, range(8)))

    assert hot_state.get_counter("calls") == 400


@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf])
def test_incr_refuses_an_amount_that_is_not_finite(hot_state: HotState, amount: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        hot_state.incr("calls", amount)
    assert hot_state.get_counter("calls") == 0


def test_incr_refuses_an_amount_that_is_not_a_number(hot_state: HotState) -> None:
    with pytest.raises(TypeError, match="amount"):
        hot_state.incr("calls", "1")  # type: ignore[arg-type]


def test_incr_refuses_a_ttl_that_is_not_positive(hot_state: HotState) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        hot_state.incr("calls", ttl_s=0)
