"""Batch handlers: tool-call requests and model calls, tool results and approvals, control.

Each takes the runtime's stateful shape (load, a pure decide, save). Decisions
are journaled (:func:`agentdeck.runtime.journaled`): durable *before* their
events are published, like the executor's effect-ledger start record, because a
budget hold is money held. A batch that is retried or redelivered finds its
decisions in the journal and re-emits exactly the same events (same ids, same
outcome, same signature) instead of deciding again against a budget its own
first attempt holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import KillSwitchScope, KillSwitchSet, ToolCallRequested
from agentdeck.controls import Switch, SwitchKey, applied, switch_key
from agentdeck.errors import RetryableError
from agentdeck.ids import decision_id_for
from agentdeck.kafka import Inbound
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.counters import CallCounter
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.shadow import Shadow
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.runtime import Clock, Decision

__all__ = ["ControlHandler", "DecisionHandler", "SettlementHandler"]

log = logging.getLogger(__name__)


class DecisionHandler:
    """Decides ToolCallRequested batches: policies, guards, budget holds, signed decisions.

    The same loop charges model calls (``LlmCallRecorded``) to the tenant's
    budget and the run's spend (:func:`core.charges`): written before the
    batch's holds, in the same transaction, and counted in the budgets its
    requests are decided on, so a call the model's spend no longer leaves room
    for is denied for budget like any other.

    The runtime's journaled shape (:func:`agentdeck.runtime.journaled`): a
    budget hold is money held, so the holds, the journaled decisions and the
    requests' processed marks commit in one transaction *before* the decisions
    are published, and a redelivered request re-emits its journaled decision
    (same id, outcome and signature) instead of being decided again.

    ``decide`` plans the holds against the budgets ``load`` read
    (:func:`core.planned_holds`); ``save`` takes them, and if the store says
    otherwise (another replica held from the same budget meanwhile) it raises
    a retryable error, the transaction rolls back and the batch is decided
    again on fresh budgets. Nothing is held that a decision does not say.
    """

    def __init__(
        self,
        *,
        engine: core.PolicyEngine,
        catalog: ToolCatalog,
        counter: CallCounter,
        key: core.SigningKey,
        identity: Producer,
        clock: Clock,
        ttls: core.Ttls,
        shadow: Shadow | None = None,
    ) -> None:
        self._journal = Journal()
        self._switches = Switchboard()
        self._engine = engine
        self._catalog = catalog
        self._counter = counter
        self._key = key
        self._identity = identity
        self._clock = clock
        self._ttls = ttls
        self._shadow = shadow

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> core.Snapshot:
        """The switches, the budgets and the run spend the batch is decided and charged on."""
        fresh = _requests(batch)
        charges = core.charges(i.event for i in batch)
        scopes = {core.tenant_scope(r.envelope.tenant) for r in fresh} | {c.scope for c in charges}
        runs = {r.envelope.run_id or "" for r in fresh} | {c.run_id or "" for c in charges}
        return core.Snapshot(
            switches=self._switches.covering_any(conn, {r.envelope.run_id for r in fresh}),
            budgets=self._journal.budgets(conn, scopes),
            run_spend=self._journal.run_spend(conn, runs),
        )

    def decide(self, state: core.Snapshot, batch: Sequence[Inbound]) -> Decision[_Decided]:
        """The batch's model calls charged; every request decided, holds planned against the
        budgets after the charges; decisions signed."""
        charges = core.charges(i.event for i in batch)
        state = core.charged(state, charges)
        requests = list(
            {decision_id_for(r.envelope.event_id): r for r in _requests(batch)}.values()
        )
        now = self._clock()
        counts = self._counter.count([(r.envelope.tenant, r.tool) for r in requests], now)
        drafted = core.pipeline(self._engine, requests, self._catalog, state, counts)
        if self._shadow is not None:
            facts, verdicts = [f for f, _ in drafted], [d.verdict for _, d in drafted]
            self._shadow.compare(requests, facts, verdicts)
        drafts = [d for _, d in drafted]
        planned = core.planned_holds(drafts, state.budgets)
        records = [
            core.record_for(
                d,
                f,
                self._engine.bundle,
                outcome=planned.get(d.hold.reservation_id) if d.hold else None,
                decided_at=now,
                ttls=self._ttls,
            )
            for f, d in drafted
        ]
        events: list[Event] = []
        for record, draft in zip(records, drafts, strict=True):
            events += core.events_for(record, draft.request, identity=self._identity, key=self._key)
        refs = [core.hold_ref(rec, d.request) for rec, d in zip(records, drafts, strict=True)]
        holds = [d.hold for d in drafts if d.hold and planned[d.hold.reservation_id].held]
        kept = [r for r in refs if r is not None]
        return Decision(_Decided(records, kept, holds, charges, now), events)

    def save(self, conn: Connection, decision: Decision[_Decided]) -> None:
        """Charge the model calls, hold the planned budgets and journal the decisions; a lost
        race raises (retryable)."""
        state = decision.state
        self._journal.charge(conn, state.charges, now=state.now)
        held = self._journal.hold(conn, state.holds, now=state.now)
        lost = [rid for rid, outcome in held.items() if not outcome.held]
        if lost:
            raise RetryableError(
                f"budget held by someone else meanwhile ({len(lost)} holds no longer fit);"
                " deciding the batch again on fresh budgets",
                capability="policy.hold",
                code="budget_race",
            )
        self._journal.record(conn, state.records, state.refs, now=state.now)

    def replay(self, conn: Connection, seen: Sequence[Inbound]) -> Sequence[Event]:
        """The journaled decisions of requests decided before, re-emitted as they were."""
        requests = {decision_id_for(r.envelope.event_id): r for r in _requests(seen)}
        known = self._journal.decisions(conn, list(requests))
        events: list[Event] = []
        for decision_id, record in known.items():
            request = requests[decision_id]
            events += core.events_for(record, request, identity=self._identity, key=self._key)
        return events


@dataclass(frozen=True)
class _Decided:
    records: list[core.DecisionRecord]
    refs: list[core.HoldRef]
    holds: list[core.Hold]
    charges: list[core.Charge]
    now: datetime


def _requests(batch: Sequence[Inbound]) -> list[ToolCallRequested]:
    return [i.event for i in batch if isinstance(i.event, ToolCallRequested)]


@dataclass(frozen=True)
class _Settling:
    """What settling a batch reads: its events that close a hold, and their holds."""

    events: list[Event]
    refs: dict[core.RefKey, core.HoldRef]


class SettlementHandler:
    """Settles holds on tool results (spend) and releases them on failures and refusals.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`).
    """

    def __init__(self, *, clock: Clock) -> None:
        self._journal = Journal()
        self._clock = clock

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> _Settling:
        """The batch's events that close a hold, and the holds they name."""
        relevant = [i.event for i in batch if core.ref_key(i.event) is not None]
        keys = {k for e in relevant if (k := core.ref_key(e)) is not None}
        return _Settling(relevant, self._journal.refs(conn, keys) if keys else {})

    def decide(self, state: _Settling, batch: Sequence[Inbound]) -> Decision[_Settled]:  # noqa: ARG002 -- loaded
        """The holds the batch closes (the outcomes are the record: nothing is published)."""
        todo = core.settlements(state.events, state.refs)
        done = [e.envelope.event_id for e in state.events]
        return Decision(_Settled(todo, self._clock()), (), done)

    def save(self, conn: Connection, decision: Decision[_Settled]) -> None:
        """Close or release the holds."""
        self._journal.settle(conn, decision.state.todo, now=decision.state.now)


@dataclass(frozen=True)
class _Settled:
    todo: list[core.Settlement]
    now: datetime


@dataclass(frozen=True)
class _Controls:
    """What a batch of control events reads: the switches it sets, the holds of cancelled runs."""

    switches: dict[SwitchKey, Switch]
    holds: dict[str, list[core.HoldRef]]


@dataclass(frozen=True)
class _Controlled:
    switches: dict[SwitchKey, Switch]
    releases: list[core.Settlement]


class ControlHandler:
    """Keeps the latest state of every kill switch in the store, where every replica reads it.

    An engaged RUN switch (a cancelled run) also gives back the run's holds
    parked for approval (see :func:`core.cancelled_releases`), in the same
    transaction. The runtime's stateful shape (:func:`agentdeck.runtime.transactional`).
    """

    def __init__(self, *, clock: Clock) -> None:
        self._switches = Switchboard()
        self._journal = Journal()
        self._clock = clock

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> _Controls:
        """The current state of the switches the batch's events set; the cancelled runs' holds."""
        events = _switch_events(batch)
        keys = {switch_key(e.scope, e.target) for e in events}
        runs = {e.target for e in events if e.scope is KillSwitchScope.RUN and e.engaged}
        return _Controls(
            self._switches.get_many(conn, keys) if keys else {},
            self._journal.open_holds(conn, runs),
        )

    def decide(self, state: _Controls, batch: Sequence[Inbound]) -> Decision[_Controlled]:
        """The switches the batch changes (a late, older event changes nothing), the releases."""
        events = _switch_events(batch)
        changed: dict[SwitchKey, Switch] = {}
        for event in events:
            key = switch_key(event.scope, event.target)
            switch = applied(changed.get(key) or state.switches.get(key), event)
            if switch is not None:
                changed[key] = switch
                log.warning(
                    "kill switch %s:%s %s by %s: %s",
                    switch.scope.value,
                    switch.target,
                    "engaged" if switch.engaged else "released",
                    switch.set_by,
                    switch.reason,
                )
        releases = core.cancelled_releases(events, state.holds)
        done = [e.envelope.event_id for e in events]
        return Decision(_Controlled(changed, releases), (), done)

    def save(self, conn: Connection, decision: Decision[_Controlled]) -> None:
        """Write the changed switches; give back the cancelled runs' parked holds."""
        now = self._clock()
        self._switches.save(conn, decision.state.switches.values(), now=now)
        self._journal.settle(conn, decision.state.releases, now=now)


def _switch_events(batch: Sequence[Inbound]) -> list[KillSwitchSet]:
    return [i.event for i in batch if isinstance(i.event, KillSwitchSet)]
