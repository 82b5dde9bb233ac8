"""Choosing the adapter from configuration."""

from __future__ import annotations

import pytest

from agentdeck.hotstate import (
    HotStateConfigError,
    InProcessHotState,
    RedisHotState,
    open_hot_state,
)


@pytest.mark.parametrize("url", ["", "   "])
def test_an_empty_url_opens_the_in_process_state(url: str) -> None:
    state = open_hot_state(url, prefix="tenant")
    try:
        assert isinstance(state, InProcessHotState)
        assert state.ping()
    finally:
        state.close()


def test_a_redis_url_opens_redis_under_the_given_prefix(redis_url: str) -> None:
    state = open_hot_state(redis_url, prefix="tenant")
    try:
        assert isinstance(state, RedisHotState)
        assert state.prefix == "tenant"
    finally:
        state.close()


@pytest.mark.parametrize("url", ["", "redis://127.0.0.1:6379/0"])
@pytest.mark.parametrize("prefix", ["", "two words", "tab\there"])
def test_a_bad_prefix_is_refused_with_or_without_redis(url: str, prefix: str) -> None:
    with pytest.raises(HotStateConfigError, match="prefix"):
        open_hot_state(url, prefix=prefix)
