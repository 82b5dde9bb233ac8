"""Batch handlers: tool-call requests, tool results and approvals, control.

Thin: read a snapshot, call the core, write what the core decided, return events.

One deliberate exception to "handlers do not write": decisions are durable
*before* their events are published, like the executor's effect-ledger start
record, because a budget hold is money held. The holds, the journaled
decisions and the requests' processed marks are written in one transaction,
so a batch that is retried or redelivered finds its decisions in the journal
and re-emits exactly the same events (same ids, same outcome, same signature)
instead of deciding again against a budget its own first attempt holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import KillSwitchSet, ToolCallRequested
from agentdeck.ids import decision_id_for
from agentdeck.kafka import Inbound, Outcome
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.counters import CallCounter
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.shadow import Shadow
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.runtime import Clock, Decision
from agentdeck.store import Store

__all__ = ["ControlHandler", "DecisionHandler", "SettlementHandler"]

log = logging.getLogger(__name__)


class DecisionHandler:
    """Decides ToolCallRequested batches: policies, guards, budget holds, signed decisions."""

    def __init__(
        self,
        *,
        store: Store,
        service: str,
        consumer: str,
        engine: core.PolicyEngine,
        catalog: ToolCatalog,
        counter: CallCounter,
        key: core.SigningKey,
        identity: Producer,
        clock: Clock,
        ttls: core.Ttls,
        shadow: Shadow | None = None,
    ) -> None:
        self._store = store
        self._consumer = consumer
        self._journal = Journal(store, service)
        self._switches = Switchboard(store.state, service)
        self._engine = engine
        self._catalog = catalog
        self._counter = counter
        self._key = key
        self._identity = identity
        self._clock = clock
        self._ttls = ttls
        self._shadow = shadow

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """The decisions of the batch's requests (journaled ones re-emitted as they were)."""
        requests = [i.event for i in batch if isinstance(i.event, ToolCallRequested)]
        if not requests:
            return Outcome()
        by_id = {decision_id_for(r.envelope.event_id): r for r in requests}
        with self._store.transaction(read_only=True) as conn:
            ids = [r.envelope.event_id for r in requests]
            new = self._store.processed.filter_new(conn, self._consumer, ids)
            seen = [d for d, r in by_id.items() if r.envelope.event_id not in new]
            known = self._journal.decisions(conn, seen) if seen else {}
            fresh = [r for d, r in by_id.items() if d not in known]
            snapshot = self._snapshot(conn, fresh)
        records = list(known.items()) + self._decide(fresh, snapshot)
        events: list[Event] = []
        for decision_id, record in records:
            request = by_id[decision_id]
            events += core.events_for(record, request, identity=self._identity, key=self._key)
        return Outcome(events)

    def _snapshot(self, conn: Connection, fresh: Sequence[ToolCallRequested]) -> core.Snapshot:
        if not fresh:
            return core.Snapshot()
        scopes = {core.tenant_scope(r.envelope.tenant) for r in fresh}
        return core.Snapshot(
            switches=self._switches.all(conn),
            budgets=self._journal.budgets(conn, scopes),
            run_spend=self._journal.run_spend(conn, {r.envelope.run_id or "" for r in fresh}),
        )

    def _decide(
        self, requests: Sequence[ToolCallRequested], snapshot: core.Snapshot
    ) -> list[tuple[str, core.DecisionRecord]]:
        if not requests:
            return []
        now = self._clock()
        counts = self._counter.count([(r.envelope.tenant, r.tool) for r in requests], now)
        drafted = core.pipeline(self._engine, requests, self._catalog, snapshot, counts)
        if self._shadow is not None:
            facts, verdicts = [f for f, _ in drafted], [d.verdict for _, d in drafted]
            self._shadow.compare(requests, facts, verdicts)
        records = self._hold_and_record(drafted, now)
        return [(r.decision_id, r) for r in records]

    def _hold_and_record(
        self, drafted: Sequence[core.Drafted], now: datetime
    ) -> list[core.DecisionRecord]:
        """Hold budgets, journal the decisions and mark the requests processed: one transaction."""
        bundle = self._engine.bundle
        drafts = [d for _, d in drafted]
        with self._store.transaction() as conn:
            held = self._journal.hold(conn, [d.hold for d in drafts if d.hold], now=now)
            records = [
                core.record_for(
                    d,
                    f,
                    bundle,
                    outcome=held.get(d.hold.reservation_id) if d.hold else None,
                    decided_at=now,
                    ttls=self._ttls,
                )
                for f, d in drafted
            ]
            refs = [core.hold_ref(rec, d.request) for rec, d in zip(records, drafts, strict=True)]
            self._journal.record(conn, records, [r for r in refs if r is not None], now=now)
            ids = [d.request.envelope.event_id for d in drafts]
            self._store.processed.mark(conn, self._consumer, ids)
        return records


@dataclass(frozen=True)
class _Settling:
    """What settling a batch reads: its events that close a hold, and their holds."""

    events: list[Event]
    refs: dict[str, core.HoldRef]


class SettlementHandler:
    """Settles holds on tool results (spend) and releases them on failures and refusals.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`).
    """

    def __init__(self, *, store: Store, service: str, clock: Clock) -> None:
        self._journal = Journal(store, service)
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


class ControlHandler:
    """Keeps the latest state of every kill switch in the store, where every replica reads it.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`).
    """

    def __init__(self, *, store: Store, service: str, clock: Clock) -> None:
        self._switches = Switchboard(store.state, service)
        self._clock = clock

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> dict[str, core.Switch]:
        """The current state of the switches the batch's events set."""
        keys = {core.switch_key(e.scope, e.target) for e in _switch_events(batch)}
        return self._switches.get_many(conn, keys) if keys else {}

    def decide(
        self, state: dict[str, core.Switch], batch: Sequence[Inbound]
    ) -> Decision[dict[str, core.Switch]]:
        """The switches the batch changes (a late, older event changes nothing)."""
        events = _switch_events(batch)
        changed: dict[str, core.Switch] = {}
        for event in events:
            key = core.switch_key(event.scope, event.target)
            switch = core.applied(changed.get(key) or state.get(key), event)
            if switch is not None:
                changed[key] = switch
                log.warning(
                    "kill switch %s %s by %s: %s",
                    key,
                    "engaged" if switch.engaged else "released",
                    switch.set_by,
                    switch.reason,
                )
        return Decision(changed, (), [e.envelope.event_id for e in events])

    def save(self, conn: Connection, decision: Decision[dict[str, core.Switch]]) -> None:
        """Write the changed switches."""
        self._switches.save(conn, decision.state, now=self._clock())


def _switch_events(batch: Sequence[Inbound]) -> list[KillSwitchSet]:
    return [i.event for i in batch if isinstance(i.event, KillSwitchSet)]
