"""Contract: session memory, on every adapter."""

from __future__ import annotations

import time

import pytest

from agentdeck.hotstate import HotState


def test_an_unknown_session_reads_as_empty(hot_state: HotState) -> None:
    assert hot_state.session_read("run-1") == []


def test_a_session_keeps_only_its_newest_items_in_order(hot_state: HotState) -> None:
    held = [
        hot_state.session_append("run-1", f"turn {n}".encode(), ttl_s=5.0, max_items=3)
        for n in range(5)
    ]

    assert held == [1, 2, 3, 3, 3]
    assert hot_state.session_read("run-1") == [b"turn 2", b"turn 3", b"turn 4"]


def test_appending_refreshes_the_session_ttl(hot_state: HotState) -> None:
    hot_state.session_append("run-1", b"hello", ttl_s=0.4, max_items=10)
    time.sleep(0.25)
    hot_state.session_append("run-1", b"again", ttl_s=0.4, max_items=10)
    time.sleep(0.25)

    assert hot_state.session_read("run-1") == [b"hello", b"again"]

    time.sleep(0.3)

    assert hot_state.session_read("run-1") == []


def test_sessions_are_independent(hot_state: HotState) -> None:
    hot_state.session_append("run-1", b"one", ttl_s=5.0, max_items=10)
    hot_state.session_append("run-2", b"two", ttl_s=5.0, max_items=10)

    assert hot_state.session_read("run-1") == [b"one"]
    assert hot_state.session_read("run-2") == [b"two"]


def test_session_append_refuses_a_cap_below_one(hot_state: HotState) -> None:
    with pytest.raises(ValueError, match="max_items"):
        hot_state.session_append("run-1", b"x", ttl_s=1.0, max_items=0)
    assert hot_state.session_read("run-1") == []
