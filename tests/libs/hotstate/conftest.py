"""Fixtures that run the hot-state contract against every adapter.

Redis is real. When it is unreachable the Redis tests error out with the command
that starts it; they never skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from agentdeck.hotstate import HotState, InProcessHotState, RedisHotState

REDIS_URL = "redis://127.0.0.1:6379/0"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
ADAPTERS = ("in_process", pytest.param("redis", marks=pytest.mark.integration))

OpenHotState = Callable[[str], HotState]


def new_prefix() -> str:
    return f"test-hotstate-{uuid.uuid4().hex}"


@pytest.fixture
def make_prefix() -> Callable[[], str]:
    """Make key prefixes no other test uses."""
    return new_prefix


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Where the test Redis listens."""
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_admin() -> Iterator[redis.Redis]:
    """A raw client for inspecting and cleaning Redis, after checking it is up."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        client.close()
        pytest.fail(f"Redis is unreachable at {REDIS_URL} ({exc}); start it: {START_REDIS}")
    yield client
    client.close()


@pytest.fixture(params=ADAPTERS)
def open_hot_state(request: pytest.FixtureRequest) -> Iterator[OpenHotState]:
    """Open instances of one adapter by prefix; close them and drop their keys afterwards."""
    opened: list[tuple[str, HotState]] = []
    admin: redis.Redis | None = None
    if request.param == "redis":
        admin = request.getfixturevalue("redis_admin")

    def open_one(prefix: str) -> HotState:
        state: HotState = RedisHotState(REDIS_URL, prefix=prefix) if admin else InProcessHotState()
        opened.append((prefix, state))
        return state

    yield open_one
    for prefix, state in opened:
        state.close()
        if admin is not None:
            delete_prefix(admin, prefix)


@pytest.fixture
def hot_state(open_hot_state: OpenHotState) -> HotState:
    """One adapter instance under a fresh prefix."""
    return open_hot_state(new_prefix())


@pytest.fixture
def redis_state(redis_admin: redis.Redis) -> Iterator[RedisHotState]:
    """A Redis adapter under a fresh prefix; its keys are dropped afterwards."""
    state = RedisHotState(REDIS_URL, prefix=new_prefix())
    yield state
    state.close()
    delete_prefix(redis_admin, state.prefix)


def delete_prefix(admin: redis.Redis, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    keys = list(admin.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        admin.delete(*keys)
