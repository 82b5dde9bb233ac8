"""The approval desk: the service's use cases, core decisions over its adapters.

The HTTP API calls :meth:`ApprovalDesk.decide`; the sweeper task calls
:meth:`ApprovalDesk.sweep`. Both read a case, let the core decide, write the
result with a conditional update (the store row settles races), then publish
the signed event and wait for Kafka to acknowledge it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass

from agentdeck.approval.adapters.cases import CaseStore, Conflict, StoredCase
from agentdeck.approval.adapters.webhook import Notifier
from agentdeck.approval.core import (
    Case,
    Closed,
    Escalate,
    Principal,
    Rejection,
    SignerPort,
    Verdict,
    VoteResult,
    acting_as,
    cast,
    entitled,
    escalated_event,
    on_run_ended,
    on_timer,
    outcome_event,
)
from agentdeck.contracts import Event, Producer
from agentdeck.controls import Switch, SwitchView
from agentdeck.errors import RetryableError
from agentdeck.kafka import Publisher
from agentdeck.runtime import Clock

__all__ = ["ApprovalDesk", "Decided", "DeskStats", "PublishPending"]

log = logging.getLogger(__name__)

_ATTEMPTS = 5


class PublishPending(RetryableError):
    """The decision is recorded, but Kafka has not acknowledged its event yet.

    The event waits in the outbox; the sweeper publishes it again.
    """


@dataclass(frozen=True)
class Decided:
    """What a verdict did, and the outcome event it published (if it closed the case)."""

    result: VoteResult
    event: Event | None = None


@dataclass
class DeskStats:
    """Counters of the desk."""

    decided: int = 0
    escalated: int = 0
    expired: int = 0
    republished: int = 0
    conflicts: int = 0


def _not_found(approval_id: str) -> Rejection:
    return Rejection("not_found", f"no approval {approval_id}", ("list your approvals",))


def _switches_loading() -> Rejection:
    return Rejection(
        "kill_switches_loading",
        "the service has not read every kill switch yet; no approval is granted until it has",
        ("retry in a few seconds",),
    )


class ApprovalDesk:
    """Decides approvals for people and for the clock."""

    def __init__(
        self,
        cases: CaseStore,
        publisher: Publisher,
        signer: SignerPort,
        *,
        identity: Producer,
        clock: Clock,
        notifier: Notifier,
        switches: SwitchView,
        switches_wait_s: float = 2.0,
    ) -> None:
        self._switches = switches
        self._switches_wait_s = switches_wait_s
        self._cases = cases
        self._publisher = publisher
        self._signer = signer
        self._identity = identity
        self._clock = clock
        self._notifier = notifier
        self._unsent_seen: set[str] = set()
        self._sweep_lock = threading.Lock()
        self.stats = DeskStats()

    def pending(self, principal: Principal, *, limit: int = 100) -> list[Case]:
        """Open cases ``principal`` is entitled to, the most urgent first."""
        return self._cases.open_cases(limit=limit, where=lambda case: entitled(principal, case))

    def get(self, approval_id: str, principal: Principal) -> Case | None:
        """The case ``approval_id``, open or closed; None if unknown or not ``principal``'s."""
        stored = self._cases.load(approval_id)
        if stored is None or not entitled(principal, stored.case):
            return None
        return stored.case

    def decide(
        self, approval_id: str, principal: Principal, verdict: Verdict, comment: str | None
    ) -> Decided:
        """Apply ``principal``'s verdict; publish the outcome once it closes the case.

        Returns:
            The core's result and the event published. A case that does not exist
            and one ``principal`` is not entitled to are the same :class:`Rejection`
            (``not_found``), so nobody learns of another tenant's approvals.

        Raises:
            PublishPending: the verdict is recorded, its event not yet acknowledged.
        """
        if verdict is Verdict.APPROVE and not self._switches.wait_caught_up(self._switches_wait_s):
            return Decided(_switches_loading())
        for _ in range(_ATTEMPTS):
            stored = self._cases.load(approval_id)
            # Checked on every attempt: an escalation in between changes who may decide.
            approver = None if stored is None else acting_as(principal, stored.case)
            if stored is None or approver is None:
                return Decided(_not_found(approval_id))
            now = self._clock()
            stopped = self._stopped(stored.case)
            result = cast(stored.case, approver, verdict, comment, now, stopped=stopped)
            if isinstance(result, Rejection):
                return Decided(result)
            events = self._events_of(result)
            try:
                self._cases.save(stored, result.case, events, now)
            except Conflict:
                self.stats.conflicts += 1
                continue  # someone else changed the case: decide again on what they wrote
            self._publish(events)
            self.stats.decided += isinstance(result, Closed)
            return Decided(result, events[0] if events else None)
        return Decided(Rejection("busy", f"approval {approval_id} keeps changing", ("retry",)))

    def _stopped(self, case: Case) -> Switch | None:
        """The engaged kill switch covering the case's call, read from the live view."""
        request = case.request
        env = request.envelope
        return self._switches.covering(
            tenant=env.tenant, agent=env.agent, tool=request.tool, run=env.run_id
        )

    def _events_of(self, result: VoteResult) -> list[Event]:
        if isinstance(result, Closed):
            return [outcome_event(result.case, self._signer, self._identity)]
        return []

    def _publish(self, events: list[Event]) -> None:
        try:
            self._publisher.publish(events)
        except RetryableError as exc:
            raise PublishPending(
                f"decision recorded; its event awaits the broker: {exc}",
                capability="approval.publish",
                code="publish_pending",
                remediation=("nothing: the service publishes it again shortly",),
            ) from exc
        self._cases.sent([e.envelope.event_id for e in events])

    def sweep(self) -> None:
        """Publish what the outbox still holds, then escalate and expire what is due."""
        with self._sweep_lock:
            try:
                self._republish()
            except PublishPending as exc:  # timers still run: their own publish may succeed
                log.warning("approval outbox not published yet: %s", exc.message)
            now = self._clock()
            for stored in self._cases.due(now):
                self._on_timer(stored)

    def close_runs(self, run_ids: Collection[str]) -> int:
        """Expire the open cases of runs that ended; how many were expired."""
        closed = 0
        for run_id in run_ids:
            for stored in self._cases.open_of_run(run_id):
                action = on_run_ended(stored.case, self._clock())
                if action is None:
                    continue
                expiry = outcome_event(action.case, self._signer, self._identity)
                if self._record(stored, action.case, expiry):
                    self.stats.expired += 1
                    closed += 1
        return closed

    def _on_timer(self, stored: StoredCase) -> None:
        now = self._clock()
        action = on_timer(stored.case, now)
        if isinstance(action, Escalate):
            escalation = escalated_event(action.case, self._identity)
            if self._record(stored, action.case, escalation):
                self.stats.escalated += 1
                self._notifier.notify(escalation)
        elif action is not None:
            expiry = outcome_event(action.case, self._signer, self._identity)
            if self._record(stored, action.case, expiry):
                self.stats.expired += 1

    def _record(self, stored: StoredCase, case: Case, event: Event) -> bool:
        try:
            self._cases.save(stored, case, [event], event.envelope.occurred_at)
        except Conflict:
            self.stats.conflicts += 1
            return False  # a person decided meanwhile, or another replica did; next tick sees it
        self._publish([event])
        return True

    def _republish(self) -> None:
        # Only events already waiting at the last sweep: a fresh one is most likely
        # being published by the HTTP request that wrote it.
        waiting = self._cases.outbox()
        stale = [e for e in waiting if e.envelope.event_id in self._unsent_seen]
        self._unsent_seen = {e.envelope.event_id for e in waiting}
        if stale:
            self._publish(stale)
            self.stats.republished += len(stale)
