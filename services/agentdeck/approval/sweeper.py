"""The timer task: every tick, escalate and expire what is due, and flush the outbox."""

from __future__ import annotations

import logging
import threading

from agentdeck.approval.desk import ApprovalDesk
from agentdeck.errors import Failure

__all__ = ["Sweeper"]

log = logging.getLogger(__name__)


class Sweeper:
    """Calls :meth:`ApprovalDesk.sweep` about every ``interval_s`` until stopped.

    Open cases live in SQL, so a restarted service picks up every timer
    where the last one left it.
    """

    def __init__(self, desk: ApprovalDesk, *, interval_s: float = 1.0) -> None:
        self._desk = desk
        self._interval_s = interval_s
        self.ticks = 0
        self.failures = 0

    def run(self, stop: threading.Event) -> None:
        """Sweep until ``stop`` is set (a service background task)."""
        while not stop.is_set():
            self.tick()
            stop.wait(self._interval_s)

    def tick(self) -> None:
        """One sweep; a failure is logged and the next tick tries again."""
        self.ticks += 1
        try:
            self._desk.sweep()
        except Failure as exc:
            self.failures += 1
            log.warning("approval sweep failed (%s): %s", exc.code, exc.message)
        except Exception:  # the timers must outlive one bad sweep
            self.failures += 1
            log.exception("approval sweep failed")
