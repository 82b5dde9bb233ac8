"""Batch handlers: tool-call requests, tool results and approvals, control.

Thin: read a snapshot, call the core, write what the core decided, return events.

One deliberate exception to "handlers do not write": a decision that holds
budget is durable *before* its events are published, like the executor's
effect-ledger start record. The reservation and the journaled decision are
written in one transaction, so a batch that is retried or redelivered finds
its decisions in the journal and re-emits exactly the same events (same ids,
same outcome, same signature) instead of deciding again against a budget its
own first attempt already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import KillSwitchSet, ToolCallRequested
from agentdeck.ids import decision_id_for
from agentdeck.kafka import Inbound, Outcome
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.counters import CallCounter, ShadowCounter
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.runtime import Clock
from agentdeck.store import Store

__all__ = ["ControlHandler", "DecisionHandler", "SettlementHandler", "Shadow"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shadow:
    """A candidate bundle evaluated beside the active one, and where divergence is counted."""

    engine: core.PolicyEngine
    counter: ShadowCounter


class DecisionHandler:
    """Decides ToolCallRequested batches: policies, guards, budget holds, signed decisions."""

    def __init__(
        self,
        *,
        store: Store,
        service: str,
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
            known = self._journal.decisions(conn, list(by_id))
            fresh = [r for d, r in by_id.items() if d not in known]
            snapshot = core.Snapshot(
                switches=self._switches.all(conn),
                budgets=self._journal.budgets(
                    conn, {core.tenant_scope(r.envelope.tenant) for r in fresh}
                ),
                run_spend=self._journal.run_spend(conn, {r.envelope.run_id or "" for r in fresh}),
            )
        records = list(known.items()) + self._decide(fresh, snapshot)
        events: list[Event] = []
        for decision_id, record in records:
            events += core.events_for(
                record, by_id[decision_id], identity=self._identity, key=self._key
            )
        return Outcome(events)

    def _decide(
        self, requests: Sequence[ToolCallRequested], snapshot: core.Snapshot
    ) -> list[tuple[str, core.DecisionRecord]]:
        if not requests:
            return []
        now = self._clock()
        facts = self._facts(requests, snapshot, now)
        verdicts = self._verdicts(self._engine, facts)
        self._compare(requests, facts, verdicts)
        drafts = [core.draft(r, f, v) for r, f, v in zip(requests, facts, verdicts, strict=True)]
        bundle = self._engine.bundle
        with self._store.transaction() as conn:
            held = {
                d.decision_id: self._journal.hold(conn, d.hold, now=now) for d in drafts if d.hold
            }
            records = [
                core.record_for(
                    d, f, bundle, outcome=held.get(d.decision_id), decided_at=now, ttls=self._ttls
                )
                for d, f in zip(drafts, facts, strict=True)
            ]
            refs = [core.hold_ref(rec, d.request) for rec, d in zip(records, drafts, strict=True)]
            self._journal.record(conn, records, [r for r in refs if r is not None], now=now)
        return [(r.decision_id, r) for r in records]

    def _facts(
        self, requests: Sequence[ToolCallRequested], snapshot: core.Snapshot, now: datetime
    ) -> list[core.CallFacts]:
        counts = self._counter.count([(r.envelope.tenant, r.tool) for r in requests], now)
        facts = []
        for request, count in zip(requests, counts, strict=True):
            arguments = core.parse_arguments(request)
            problem = (
                None if arguments.problem else self._catalog.check(request.tool, arguments.values)
            )
            facts.append(
                core.facts_for(
                    request,
                    self._catalog.facts(request.tool, request.side_effect),
                    arguments=arguments,
                    contract_problem=problem,
                    snapshot=snapshot,
                    calls_last_minute=count,
                )
            )
        return facts

    @staticmethod
    def _verdicts(engine: core.PolicyEngine, facts: Sequence[core.CallFacts]) -> list[core.Verdict]:
        return [
            core.guarded(f, v) for f, v in zip(facts, core.evaluate(engine, facts), strict=True)
        ]

    def _compare(
        self,
        requests: Sequence[ToolCallRequested],
        facts: Sequence[core.CallFacts],
        active: Sequence[core.Verdict],
    ) -> None:
        if self._shadow is None:
            return
        candidate = self._verdicts(self._shadow.engine, facts)
        diverging = core.divergent(active, candidate)
        self._shadow.counter.add(len(facts), len(diverging))
        for i in diverging:
            log.info(
                "shadow bundle %s diverges on request %s (%s): active %s %s, candidate %s %s",
                self._shadow.engine.bundle.version,
                requests[i].envelope.event_id,
                requests[i].tool,
                active[i].outcome.value,
                list(active[i].matched),
                candidate[i].outcome.value,
                list(candidate[i].matched),
            )


class SettlementHandler:
    """Settles holds on tool results (spend) and releases them on failures and refusals."""

    def __init__(
        self, *, store: Store, service: str, consumer: str, identity: Producer, clock: Clock
    ) -> None:
        self._store = store
        self._journal = Journal(store, service)
        self._consumer = consumer
        self._identity = identity
        self._clock = clock

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """BudgetSettled for each hold the batch closes; the store changes after they flush."""
        relevant = [i.event for i in batch if core.ref_key(i.event) is not None]
        if not relevant:
            return Outcome()
        keys = {k for e in relevant if (k := core.ref_key(e)) is not None}
        with self._store.transaction(read_only=True) as conn:
            ids = [e.envelope.event_id for e in relevant]
            new = self._store.processed.filter_new(conn, self._consumer, ids)
            refs = self._journal.refs(conn, keys)
        todo = core.settlements([e for e in relevant if e.envelope.event_id in new], refs)
        now = self._clock()
        events = [core.settled_event(s, identity=self._identity, now=now) for s in todo]

        def commit() -> None:
            with self._store.transaction() as conn:
                self._journal.settle(conn, todo, now=now)
                self._store.processed.mark(conn, self._consumer, list(new))

        return Outcome(events, commit)


class ControlHandler:
    """Keeps the latest state of every kill switch in the store, where every replica reads it."""

    def __init__(self, *, store: Store, service: str, consumer: str, clock: Clock) -> None:
        self._store = store
        self._switches = Switchboard(store.state, service)
        self._consumer = consumer
        self._clock = clock

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """Record the batch's KillSwitchSet events (a late, older event changes nothing)."""
        events = [i.event for i in batch if isinstance(i.event, KillSwitchSet)]
        if not events:
            return Outcome()
        keys = {core.switch_key(e.scope, e.target) for e in events}
        with self._store.transaction(read_only=True) as conn:
            ids = [e.envelope.event_id for e in events]
            new = self._store.processed.filter_new(conn, self._consumer, ids)
            current: dict[str, core.Switch] = self._switches.get_many(conn, keys)
        changed: dict[str, core.Switch] = {}
        for event in (e for e in events if e.envelope.event_id in new):
            key = core.switch_key(event.scope, event.target)
            switch = core.applied(changed.get(key) or current.get(key), event)
            if switch is not None:
                changed[key] = switch
                log.warning(
                    "kill switch %s %s by %s: %s",
                    key,
                    "engaged" if switch.engaged else "released",
                    switch.set_by,
                    switch.reason,
                )

        def commit() -> None:
            with self._store.transaction() as conn:
                self._switches.save(conn, changed, now=self._clock())
                self._store.processed.mark(conn, self._consumer, list(new))

        return Outcome((), commit)
