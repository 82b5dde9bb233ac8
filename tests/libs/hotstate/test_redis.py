"""What only the Redis adapter promises: key layout, Redis TTLs and error translation."""

from __future__ import annotations

import pytest
import redis

from agentdeck.errors import ConfigError, ErrorCategory, RetryableError
from agentdeck.hotstate import (
    HotStateConfigError,
    HotStateError,
    HotStateUnavailableError,
    RedisHotState,
)

pytestmark = pytest.mark.integration

UNREACHABLE_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_every_key_lives_under_the_instance_prefix(
    redis_state: RedisHotState, redis_admin: redis.Redis
) -> None:
    redis_state.hit("api", limit=5, window_s=5.0)
    redis_state.incr("calls")
    redis_state.cache_set("prompt", b"answer", ttl_s=5.0)
    redis_state.first_seen(["event-1"], ttl_s=5.0)
    redis_state.session_append("run-1", b"turn", ttl_s=5.0, max_items=5)

    keys = sorted(key.decode() for key in redis_admin.scan_iter(match=f"{redis_state.prefix}:*"))

    assert keys == [
        f"{redis_state.prefix}:{suffix}"
        for suffix in ("cache:prompt", "counter:calls", "rate:api", "seen:event-1", "session:run-1")
    ]


def test_keys_carry_redis_ttls_and_a_counter_without_ttl_has_none(
    redis_state: RedisHotState, redis_admin: redis.Redis
) -> None:
    redis_state.hit("api", limit=5, window_s=5.0)
    redis_state.incr("calls")
    redis_state.incr("calls-per-minute", ttl_s=60.0)
    redis_state.cache_set("prompt", b"answer", ttl_s=5.0)
    prefix = redis_state.prefix

    assert 4000 < redis_admin.pttl(f"{prefix}:rate:api") <= 5000
    assert redis_admin.pttl(f"{prefix}:counter:calls") == -1
    assert 59000 < redis_admin.pttl(f"{prefix}:counter:calls-per-minute") <= 60000
    assert 4000 < redis_admin.pttl(f"{prefix}:cache:prompt") <= 5000


def test_hits_in_the_same_millisecond_are_distinct_members(
    redis_state: RedisHotState, redis_admin: redis.Redis
) -> None:
    allowed = sum(redis_state.hit("api", limit=1000, window_s=30.0).allowed for _ in range(200))

    assert allowed == 200
    assert redis_admin.zcard(f"{redis_state.prefix}:rate:api") == 200


def test_a_value_redis_refuses_to_add_to_is_a_hot_state_error(
    redis_state: RedisHotState, redis_admin: redis.Redis
) -> None:
    redis_admin.set(f"{redis_state.prefix}:counter:calls", b"not a number")

    with pytest.raises(HotStateError, match="incr") as caught:
        redis_state.incr("calls")

    assert not isinstance(caught.value, HotStateUnavailableError)


def test_unreachable_redis_raises_a_retryable_unavailable_error() -> None:
    state = RedisHotState(UNREACHABLE_URL, prefix="unreachable", timeout_s=0.5, retries=0)
    try:
        with pytest.raises(HotStateUnavailableError) as caught:
            state.hit("api", limit=1, window_s=1.0)
        assert not state.ping()
    finally:
        state.close()

    error = caught.value
    assert isinstance(error, RetryableError)
    assert error.retryable
    assert error.category is ErrorCategory.TRANSIENT
    assert (error.capability, error.code) == ("hotstate.hit", "hotstate_unavailable")
    assert isinstance(error.__cause__, redis.ConnectionError)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "not a url"])
def test_an_unusable_url_is_a_config_error(url: str) -> None:
    with pytest.raises(HotStateConfigError, match="Redis URL") as caught:
        RedisHotState(url, prefix="tenant")

    assert isinstance(caught.value, ConfigError)


def test_construction_does_not_connect() -> None:
    state = RedisHotState(UNREACHABLE_URL, prefix="lazy")
    state.close()
