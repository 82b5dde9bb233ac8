"""The calls running in this process, each signalled the moment a switch covering it engages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from agentdeck.contracts.models import PolicyDecided
from agentdeck.controls import Switch, SwitchView

__all__ = ["Running", "RunningCalls"]

_IDLE_WAKE_S = 0.5
"""How often the follower wakes with no switch changing, to see whether it must stop."""


@dataclass
class Running:
    """One running call: what a switch must cover to stop it, and its cancel signal."""

    tenant: str
    agent: str | None
    tool: str
    run: str | None
    signal: threading.Event = field(default_factory=threading.Event)
    switch: Switch | None = None
    """The engaged switch that stopped it, once one did."""


class RunningCalls:
    """Tracks running calls and sets the cancel signal of those an engaged switch covers.

    :meth:`follow` is a background task: it wakes whenever the view of the
    switches changes (a cancelled run's switch, a kill switch) and signals every
    running call the change covers. A call is also checked as it starts, so a
    switch engaged between the last check before the call and its start still
    stops it. Thread-safe.
    """

    def __init__(self, switches: SwitchView) -> None:
        self._switches = switches
        self._lock = threading.Lock()
        self._running: dict[int, Running] = {}

    @contextmanager
    def watch(self, decision: PolicyDecided) -> Iterator[Running]:
        """Within the block, the call of ``decision`` is running and may be signalled."""
        env = decision.envelope
        call = Running(env.tenant, env.agent, decision.tool, env.run_id)
        with self._lock:
            self._running[id(call)] = call
        try:
            self._check(call)
            yield call
        finally:
            with self._lock:
                del self._running[id(call)]

    def follow(self, stop: threading.Event) -> None:
        """Signal covered calls whenever a switch changes, until ``stop`` is set."""
        while not stop.is_set():
            version = self._switches.version
            with self._lock:
                calls = list(self._running.values())
            for call in calls:
                self._check(call)
            self._switches.wait_past(version, _IDLE_WAKE_S)

    def _check(self, call: Running) -> None:
        if call.signal.is_set():
            return
        switch = self._switches.covering(
            tenant=call.tenant, agent=call.agent, tool=call.tool, run=call.run
        )
        if switch is not None:
            call.switch = switch
            call.signal.set()
