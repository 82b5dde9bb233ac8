"""Contract: the byte cache and dedupe marks, on every adapter."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentdeck.hotstate import HotState


def test_a_missing_cache_key_reads_as_none(hot_state: HotState) -> None:
    assert hot_state.cache_get("prompt") is None


def test_cached_bytes_read_back_until_their_ttl_passes(hot_state: HotState) -> None:
    hot_state.cache_set("prompt", b"\x00answer\xff", ttl_s=0.3)
    assert hot_state.cache_get("prompt") == b"\x00answer\xff"

    time.sleep(0.4)

    assert hot_state.cache_get("prompt") is None


def test_empty_bytes_are_a_cached_value_not_a_miss(hot_state: HotState) -> None:
    hot_state.cache_set("prompt", b"", ttl_s=5.0)
    assert hot_state.cache_get("prompt") == b""


def test_cache_set_replaces_the_value_and_its_ttl(hot_state: HotState) -> None:
    hot_state.cache_set("prompt", b"old", ttl_s=0.3)
    hot_state.cache_set("prompt", b"new", ttl_s=5.0)

    time.sleep(0.4)

    assert hot_state.cache_get("prompt") == b"new"


def test_cache_set_refuses_text(hot_state: HotState) -> None:
    with pytest.raises(TypeError, match="bytes"):
        hot_state.cache_set("prompt", "answer", ttl_s=1.0)  # type: ignore[arg-type]


def test_only_the_first_occurrence_of_a_key_is_new(hot_state: HotState) -> None:
    assert hot_state.first_seen(["a", "b", "a", "c", "b"], ttl_s=5.0) == [
        True,
        True,
        False,
        True,
        False,
    ]
    assert hot_state.first_seen(["c", "d"], ttl_s=5.0) == [False, True]


def test_seen_marks_expire_after_their_ttl(hot_state: HotState) -> None:
    assert hot_state.first_seen(["event-1"], ttl_s=0.3) == [True]
    assert hot_state.first_seen(["event-1"], ttl_s=0.3) == [False]

    time.sleep(0.4)

    assert hot_state.first_seen(["event-1"], ttl_s=0.3) == [True]


def test_first_seen_of_no_keys_is_an_empty_list(hot_state: HotState) -> None:
    assert hot_state.first_seen([], ttl_s=1.0) == []


def test_first_seen_refuses_a_single_string(hot_state: HotState) -> None:
    with pytest.raises(TypeError, match="single string"):
        hot_state.first_seen("event-1", ttl_s=1.0)


def test_concurrent_batches_see_each_key_as_new_exactly_once(hot_state: HotState) -> None:
    keys = [f"event-{n}" for n in range(100)]
    start = threading.Barrier(8)

    def mark(_: int) -> list[bool]:
        start.wait()
        return hot_state.first_seen(keys, ttl_s=30.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(mark, range(8)))

    assert [sum(flags) for flags in zip(*batches, strict=True)] == [1] * 100
