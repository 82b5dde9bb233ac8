"""The stale-hold task: every tick, give back the holds of allowed calls that can never settle.

An allowed call's hold is settled by the call's outcome, and the executor refuses
a decision once it has expired (``AGENTDECK_POLICY_ALLOW_TTL_S``), which settles
it too. A hold still open ``stale_after`` after its decision can only belong to a
decision that never reached the executor, in a run that ended (failed at its
deadline, say) and is no longer re-driven: its budget would stay held for good.
Holds of calls waiting for a human are left to the approval's outcome.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.core import Settlement
from agentdeck.runtime import Clock, ticking
from agentdeck.store import Store

__all__ = ["HoldSweeper"]

log = logging.getLogger(__name__)


class HoldSweeper:
    """Releases stale holds about every ``interval_s`` until stopped."""

    def __init__(
        self, store: Store, *, clock: Clock, stale_after: timedelta, interval_s: float
    ) -> None:
        self._store = store
        self._journal = Journal()
        self._clock = clock
        self._stale_after = stale_after
        self._interval_s = interval_s
        self.released = 0

    def run(self, stop: threading.Event) -> None:
        """Sweep until ``stop`` is set (a service background task)."""
        ticking(self.tick, every_s=self._interval_s, what="stale-hold sweep")(stop)

    def tick(self) -> int:
        """Release the holds that went stale; how many."""
        now = self._clock()
        with self._store.transaction() as conn:
            stale = self._journal.stale_holds(conn, now - self._stale_after)
            self._journal.settle(conn, [Settlement(ref, None, None) for ref in stale], now=now)
        if stale:
            log.warning(
                "released %d stale budget hold(s): %s",
                len(stale),
                ", ".join(r.reservation_id for r in stale[:5]),
            )
        self.released += len(stale)
        return len(stale)
