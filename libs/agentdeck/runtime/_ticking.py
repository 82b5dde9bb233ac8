"""A background task that does one piece of work every so often and outlives a bad one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agentdeck.errors import Failure

__all__ = ["ticking"]

log = logging.getLogger(__name__)


def ticking(
    tick: Callable[[], object], *, every_s: float, what: str
) -> Callable[[threading.Event], None]:
    """A service background task calling ``tick`` every ``every_s`` until stopped.

    A tick that fails is logged (a :class:`Failure` as a warning with its code,
    anything else with its traceback) and the next tick tries again: a timer
    must outlive one bad tick.
    """

    def run(stop: threading.Event) -> None:
        while not stop.wait(every_s):
            try:
                tick()
            except Failure as exc:
                log.warning("%s failed (%s): %s", what, exc.code, exc.message)
            except Exception:
                log.exception("%s failed", what)

    return run
