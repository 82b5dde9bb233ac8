"""Starting while the database does not answer yet: wait for it, within a bound, then say so.

A service starting while its database restarts, or while its connections are
being dropped, would otherwise exit with a traceback and stay down until an
orchestrator restarted it. It waits instead, as long as ``AGENTDECK_STARTUP_WAIT_S``,
trying again with capped exponential backoff and jitter (so replicas
restarted together do not knock together), and logs every failed try with its
machine-readable code.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from agentdeck.store.errors import StoreUnavailableError

__all__ = ["when_store_answers"]

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_WAIT_S = 0.25
LONGEST_WAIT_S = 5.0


def when_store_answers(
    what: str,
    attempt: Callable[[], T],
    *,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    draw: Callable[[], float] = random.random,
) -> T:
    """``attempt()``, tried again while it raises :class:`StoreUnavailableError`, for ``wait_s``.

    Raises:
        StoreUnavailableError: The last try's, when the database still did not
            answer after ``wait_s`` seconds.
    """
    deadline = clock() + wait_s
    backoff = FIRST_WAIT_S
    while True:
        try:
            return attempt()
        except StoreUnavailableError as exc:
            left = deadline - clock()
            if left <= 0:
                raise
            pause = min(left, backoff * (0.5 + 0.5 * draw()))
            log.warning(
                "%s: database unavailable (%s), trying again in %.2f s: %s",
                what,
                exc.code,
                pause,
                exc.message,
            )
            sleep(pause)
            backoff = min(LONGEST_WAIT_S, backoff * 2)
