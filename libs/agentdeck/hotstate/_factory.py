"""Choose the hot-state adapter from configuration."""

from __future__ import annotations

from agentdeck.hotstate._args import check_prefix
from agentdeck.hotstate._memory import InProcessHotState
from agentdeck.hotstate._port import HotState
from agentdeck.hotstate._redis import RedisHotState

__all__ = ["open_hot_state"]


def open_hot_state(redis_url: str, *, prefix: str) -> HotState:
    """Open the hot state a service was configured with; does no I/O.

    Args:
        redis_url: A Redis URL (``StoreSettings.redis_url``); empty selects the
            in-process store, which is private to this process.
        prefix: Key prefix of this service or tenant; checked in both modes so a
            bad setting fails the same way with or without Redis.

    Returns:
        A :class:`RedisHotState` for a URL, else an :class:`InProcessHotState`.

    Raises:
        HotStateConfigError: The URL or the prefix is unusable.
    """
    check_prefix(prefix)
    if not redis_url.strip():
        return InProcessHotState()
    return RedisHotState(redis_url.strip(), prefix=prefix)
