"""Hot, TTL-bound state behind one port, on Redis or in-process.

The :class:`HotState` port offers sliding rate windows, counters, a byte cache,
dedupe marks and capped session memory, all with TTLs. :func:`open_hot_state`
picks the adapter from configuration: Redis when a URL is given, else an
in-process store held to the same contract.
"""

from __future__ import annotations

from agentdeck.hotstate._factory import open_hot_state
from agentdeck.hotstate._memory import InProcessHotState
from agentdeck.hotstate._port import HotState, RateDecision
from agentdeck.hotstate._redis import RedisHotState
from agentdeck.hotstate.errors import (
    HotStateClosedError,
    HotStateConfigError,
    HotStateError,
    HotStateUnavailableError,
)

__all__ = [
    "HotState",
    "HotStateClosedError",
    "HotStateConfigError",
    "HotStateError",
    "HotStateUnavailableError",
    "InProcessHotState",
    "RateDecision",
    "RedisHotState",
    "open_hot_state",
]
