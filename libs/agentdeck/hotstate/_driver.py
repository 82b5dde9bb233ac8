"""The redis-py side of the Redis adapter: building a client and translating its errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from agentdeck.hotstate.errors import HotStateConfigError, HotStateError, HotStateUnavailableError

__all__ = ["client_from_url", "translated_errors"]

# Failures that may pass on their own: retrying the same call later can succeed.
_TRANSIENT = (
    redis.ConnectionError,  # also covers BusyLoadingError (a restarting server)
    redis.TimeoutError,
    redis.ReadOnlyError,  # a replica promoted mid-failover
    redis.OutOfMemoryError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
)


def client_from_url(url: str, *, timeout_s: float, retries: int) -> redis.Redis:
    """Build a client without connecting; retries are immediate, backoff is the caller's."""
    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), retries),
        )
    except ValueError as exc:
        raise HotStateConfigError(f"unusable Redis URL: {exc}") from exc


@contextmanager
def translated_errors(operation: str) -> Iterator[None]:
    """Re-raise driver errors as ours: retryable when waiting may help, else the root error."""
    try:
        yield
    except _TRANSIENT as exc:
        raise HotStateUnavailableError(operation, str(exc)) from exc
    except redis.RedisError as exc:
        raise HotStateError(f"Redis refused {operation}: {exc}") from exc
