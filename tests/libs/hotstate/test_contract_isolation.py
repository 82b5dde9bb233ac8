"""Contract: prefixes, namespaces and the instance lifecycle, on every adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentdeck.hotstate import HotState, HotStateClosedError

OpenHotState = Callable[[str], HotState]


def write_one_of_each(state: HotState, key: str) -> None:
    state.hit(key, limit=1, window_s=5.0)
    state.incr(key, ttl_s=5.0)
    state.cache_set(key, b"cached", ttl_s=5.0)
    state.first_seen([key], ttl_s=5.0)
    state.session_append(key, b"item", ttl_s=5.0, max_items=5)


def test_instances_with_different_prefixes_do_not_see_each_others_keys(
    open_hot_state: OpenHotState, make_prefix: Callable[[], str]
) -> None:
    tenant_a, tenant_b = open_hot_state(make_prefix()), open_hot_state(make_prefix())

    write_one_of_each(tenant_a, "shared")

    assert tenant_b.hit("shared", limit=1, window_s=5.0).allowed
    assert tenant_b.get_counter("shared") == 0
    assert tenant_b.cache_get("shared") is None
    assert tenant_b.first_seen(["shared"], ttl_s=5.0) == [True]
    assert tenant_b.session_read("shared") == []


def test_every_operation_may_use_the_same_key(hot_state: HotState) -> None:
    write_one_of_each(hot_state, "same")

    assert not hot_state.hit("same", limit=1, window_s=5.0).allowed
    assert hot_state.get_counter("same") == 1
    assert hot_state.cache_get("same") == b"cached"
    assert hot_state.first_seen(["same"], ttl_s=5.0) == [False]
    assert hot_state.session_read("same") == [b"item"]


def test_ping_is_true_while_open_and_false_after_close(hot_state: HotState) -> None:
    assert hot_state.ping()

    hot_state.close()
    hot_state.close()  # closing twice is harmless

    assert not hot_state.ping()


def test_operations_after_close_raise(hot_state: HotState) -> None:
    hot_state.close()

    with pytest.raises(HotStateClosedError):
        hot_state.cache_get("prompt")
    with pytest.raises(HotStateClosedError):
        hot_state.hit("api", limit=1, window_s=1.0)


def test_every_adapter_satisfies_the_port(hot_state: HotState) -> None:
    assert isinstance(hot_state, HotState)
