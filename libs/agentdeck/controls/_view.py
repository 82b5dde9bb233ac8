"""An in-memory view of the kill switches, fed from the control topic and read before acting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from agentdeck.contracts.models import KillSwitchSet
from agentdeck.controls._rules import (
    Switch,
    SwitchKey,
    applied,
    covering,
    covering_keys,
    switch_key,
)
from agentdeck.errors import RetryableError

__all__ = ["SwitchView", "SwitchesLoading"]


class SwitchesLoading(RetryableError):
    """The view has not read the whole control topic yet: acting now could miss a switch."""


class SwitchView:
    """The latest state of every switch one process has read. Thread-safe.

    A follower of the control topic calls :meth:`apply` with what it reads and
    :meth:`mark_caught_up` once it has read everything the topic held when it
    started; until then :attr:`caught_up` is False and callers that act on the
    view must wait (fail closed), not act on a partial view.
    """

    def __init__(self) -> None:
        self._switches: dict[SwitchKey, Switch] = {}
        self._applied_at: dict[SwitchKey, float] = {}
        self._version = 0
        self._caught_up = False
        self._changed = threading.Condition()

    def apply(self, events: Iterable[KillSwitchSet]) -> list[Switch]:
        """Apply ``events`` (already authorised) in order; the switches that changed.

        A late or replayed event older than the state it would replace changes nothing.
        """
        changed: list[Switch] = []
        with self._changed:
            for event in events:
                key = switch_key(event.scope, event.target)
                switch = applied(self._switches.get(key), event)
                if switch is None or switch == self._switches.get(key):
                    continue
                self._switches[key] = switch
                self._applied_at[key] = time.monotonic()
                changed.append(switch)
            if changed:
                self._version += 1
                self._changed.notify_all()
        return changed

    def mark_caught_up(self) -> None:
        """Everything the topic held at start-up is applied: the view may be acted on."""
        with self._changed:
            self._caught_up = True
            self._version += 1
            self._changed.notify_all()

    @property
    def caught_up(self) -> bool:
        """Whether the view holds every switch set before this process started."""
        with self._changed:
            return self._caught_up

    @property
    def version(self) -> int:
        """A counter that grows whenever a switch changes or the view catches up."""
        with self._changed:
            return self._version

    def wait_caught_up(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for :attr:`caught_up`; whether it is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._caught_up, timeout_s)

    def require_caught_up(self, timeout_s: float, *, capability: str) -> None:
        """Wait up to ``timeout_s`` for :attr:`caught_up`.

        Raises:
            SwitchesLoading: Still not caught up; nothing may act yet (fail closed).
        """
        if not self.wait_caught_up(timeout_s):
            raise SwitchesLoading(
                "the kill switches are still being read from the control topic",
                capability=capability,
                code="kill_switches_loading",
                remediation=("retry shortly: the service acts once it has read every switch",),
            )

    def wait_past(self, version: int, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for :attr:`version` to pass ``version``; whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self._version > version, timeout_s)

    def covering(
        self, *, tenant: str, agent: str | None, tool: str, run: str | None
    ) -> Switch | None:
        """The broadest engaged switch that stops a call of ``tool`` by ``agent`` for ``tenant``.

        ``run`` is the call's run id (see :func:`~agentdeck.controls.covering`).
        """
        keys = covering_keys(tenant=tenant, agent=agent, tool=tool, run=run)
        with self._changed:  # by key: one RUN switch per cancelled run accumulates here
            switches = [s for k in keys if (s := self._switches.get(k)) is not None]
        return covering(switches, tenant=tenant, agent=agent, tool=tool, run=run)

    def switches(self) -> list[Switch]:
        """Every switch seen, engaged or released."""
        with self._changed:
            return list(self._switches.values())

    def applied_at(self, key: SwitchKey) -> float | None:
        """When (``time.monotonic()``) the current state of ``key`` was applied; None if never."""
        with self._changed:
            return self._applied_at.get(key)
