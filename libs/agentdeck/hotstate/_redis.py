"""The Redis adapter: hot state shared by every replica of every service."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis

from agentdeck.hotstate._args import (
    check_amount,
    check_bytes,
    check_keys,
    check_positive_int,
    check_prefix,
    integral_or_float,
    to_ms,
)
from agentdeck.hotstate._driver import client_from_url, translated_errors
from agentdeck.hotstate._lua import SLIDING_WINDOW_HIT
from agentdeck.hotstate._port import RateDecision
from agentdeck.hotstate._replies import as_bytes, as_bytes_list, as_number
from agentdeck.hotstate.errors import HotStateClosedError

__all__ = ["RedisHotState"]


class RedisHotState:
    """Hot state in Redis; each operation is one atomic round trip.

    Construction does no I/O; the first operation connects. Every key is
    ``{prefix}:{namespace}:{key}``, so instances with different prefixes never
    collide. Driver failures surface as :class:`HotStateUnavailableError` when a
    retry may help and as :class:`HotStateError` otherwise.

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL.
        prefix: Prepended to every key, e.g. a tenant or a test id.
        timeout_s: Connect and per-command socket timeout.
        retries: Immediate retries of a command whose connection dropped.

    Raises:
        HotStateConfigError: The URL or the prefix is unusable.
    """

    def __init__(self, url: str, *, prefix: str, timeout_s: float = 2.0, retries: int = 1) -> None:
        self._prefix = check_prefix(prefix)
        self._client = client_from_url(url, timeout_s=timeout_s, retries=retries)
        self._hit_script = self._client.register_script(SLIDING_WINDOW_HIT)
        self._closed = False

    @property
    def prefix(self) -> str:
        """The prefix of every key this instance touches."""
        return self._prefix

    def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        """See :meth:`HotState.hit`."""
        check_positive_int(limit, name="limit")
        window_us = to_ms(window_s, name="window_s") * 1000
        args: list[int | str] = [limit, window_us, secrets.token_hex(8)]
        with self._calling("hit"):
            reply = self._hit_script(keys=[self._key("rate", key)], args=args)
        allowed, count, wait_us = (int(part) for part in reply)
        return RateDecision(
            allowed=allowed == 1, count=count, limit=limit, retry_after_s=wait_us / 1_000_000
        )

    def incr(self, key: str, amount: int | float = 1, *, ttl_s: float | None = None) -> int | float:
        """See :meth:`HotState.incr`."""
        check_amount(amount)
        ttl_ms = None if ttl_s is None else to_ms(ttl_s, name="ttl_s")
        name = self._key("counter", key)
        with self._calling("incr"), self._client.pipeline(transaction=True) as pipe:
            if ttl_ms is not None:
                pipe.set(name, 0, nx=True, px=ttl_ms)  # only a new counter gets a deadline
            pipe.incrbyfloat(name, amount)  # keeps an existing deadline
            replies = pipe.execute()
        return integral_or_float(float(replies[-1]))

    def get_counter(self, key: str) -> int | float:
        """See :meth:`HotState.get_counter`."""
        with self._calling("get_counter"):
            raw = self._client.get(self._key("counter", key))
        return as_number(raw)

    def cache_get(self, key: str) -> bytes | None:
        """See :meth:`HotState.cache_get`."""
        with self._calling("cache_get"):
            raw = self._client.get(self._key("cache", key))
        return as_bytes(raw)

    def cache_set(self, key: str, value: bytes, *, ttl_s: float) -> None:
        """See :meth:`HotState.cache_set`."""
        check_bytes(value, name="value")
        ttl_ms = to_ms(ttl_s, name="ttl_s")
        with self._calling("cache_set"):
            self._client.set(self._key("cache", key), value, px=ttl_ms)

    def first_seen(self, keys: Sequence[str], *, ttl_s: float) -> list[bool]:
        """See :meth:`HotState.first_seen`."""
        check_keys(keys)
        ttl_ms = to_ms(ttl_s, name="ttl_s")
        if not keys:
            return []
        with self._calling("first_seen"), self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self._key("seen", key), b"1", nx=True, px=ttl_ms)
            replies = pipe.execute()
        return [reply is True for reply in replies]

    def session_append(self, session_id: str, item: bytes, *, ttl_s: float, max_items: int) -> int:
        """See :meth:`HotState.session_append`."""
        check_bytes(item, name="item")
        check_positive_int(max_items, name="max_items")
        ttl_ms = to_ms(ttl_s, name="ttl_s")
        name = self._key("session", session_id)
        with self._calling("session_append"), self._client.pipeline(transaction=True) as pipe:
            pipe.rpush(name, item)
            pipe.ltrim(name, -max_items, -1)
            pipe.pexpire(name, ttl_ms)
            length, _, _ = pipe.execute()
        return min(int(length), max_items)

    def session_read(self, session_id: str) -> list[bytes]:
        """See :meth:`HotState.session_read`."""
        with self._calling("session_read"):
            raw = self._client.lrange(self._key("session", session_id), 0, -1)
        return as_bytes_list(raw)

    def ping(self) -> bool:
        """See :meth:`HotState.ping`."""
        if self._closed:
            return False
        try:
            return self._client.ping() is True
        except redis.RedisError:
            return False

    def close(self) -> None:
        """Close every pooled connection; later calls but ``ping`` raise."""
        self._closed = True
        self._client.close()

    def _key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}:{namespace}:{key}"

    @contextmanager
    def _calling(self, operation: str) -> Iterator[None]:
        if self._closed:
            raise HotStateClosedError(f"{operation} on a closed Redis hot state")
        with translated_errors(operation):
            yield
