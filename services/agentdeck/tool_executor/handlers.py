"""The executor's batch handler: verify the batch, run its calls, keep the approval slots."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace

from agentdeck.contracts import Event
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    PolicyDecided,
)
from agentdeck.kafka import Inbound, Outcome
from agentdeck.runtime import Clock
from agentdeck.store import Store
from agentdeck.tool_executor.adapters.calls import CallRunner
from agentdeck.tool_executor.adapters.effects import EffectEntry
from agentdeck.tool_executor.adapters.ledger import CallLedger
from agentdeck.tool_executor.core.parking import ApprovalSlot, decision_from_json
from agentdeck.tool_executor.core.plan import Execution, Trust, approval_ids, plan
from agentdeck.tool_executor.core.reconcile import Ledger

__all__ = ["RELEVANT", "ExecutorHandler"]

RELEVANT = (PolicyDecided, ApprovalGranted, ApprovalDenied, ApprovalExpired)
"""The events the executor acts on; the rest of its topics is not its business."""


def _keys(events: Sequence[Event], slots: dict[str, ApprovalSlot]) -> set[str]:
    keys = {e.idempotency_key for e in events if isinstance(e, PolicyDecided)}
    parked = (decision_from_json(s.decision) for s in slots.values() if s.decision)
    return {k for k in keys | {d.idempotency_key for d in parked} if k}


class ExecutorHandler:
    """Decisions and approval outcomes in; ToolCallCompleted/Failed out (starts stay in the ledger).

    The batch is verified first (a refused event raises before anything runs,
    and the loop dead-letters it alone); the calls then run, one run's calls in
    order, different runs in parallel.
    """

    def __init__(
        self,
        *,
        store: Store,
        ledger: CallLedger,
        runner: CallRunner,
        trust: Trust,
        clock: Clock,
        consumer: str,
        pool: ThreadPoolExecutor,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._runner = runner
        self._trust = trust
        self._clock = clock
        self._consumer = consumer
        self._pool = pool

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """Verify and execute a batch; approval slots and processed ids commit after the flush."""
        events = [i.event for i in batch if isinstance(i.event, RELEVANT)]
        if not events:
            return Outcome()
        with self._store.transaction(read_only=True) as conn:
            ids = [e.envelope.event_id for e in events]
            fresh = self._store.processed.filter_new(conn, self._consumer, ids)
            todo = [e for e in events if e.envelope.event_id in fresh]
            wanted = approval_ids(todo)
            slots = self._ledger.slots(conn, wanted)
            claims = self._ledger.claims(conn, _keys(todo, slots))
        decided = plan(
            todo, trust=replace(self._trust, now=self._clock()), slots=slots, claims=claims
        )
        outputs = self._execute(decided.executions)

        def commit() -> None:
            sealed = self._ledger.seal_slots(decided.slots)
            with self._store.transaction() as conn:
                self._ledger.save_slots(conn, sealed, self._clock())
                self._store.processed.mark(conn, self._consumer, fresh)

        return Outcome(outputs, commit)

    def _execute(self, executions: list[Execution]) -> list[Event]:
        """Run the calls: every start in one transaction, every outcome in one more."""
        if not executions:
            return []
        begun = self._runner.begin_all(executions, self._clock())
        by_run: dict[str, list[Execution]] = {}
        for execution in executions:
            env = execution.decision.envelope
            by_run.setdefault(env.run_id or env.event_id, []).append(execution)
        with self._runner.deferred():
            if len(by_run) <= 1:
                return [e for group in by_run.values() for e in self._in_order(group, begun)]
            futures = [self._pool.submit(self._in_order, group, begun) for group in by_run.values()]
            wait(futures)  # let every run finish before a failure of one is raised
        return [event for future in futures for event in future.result()]

    def _in_order(
        self, executions: list[Execution], begun: dict[str, tuple[Ledger, EffectEntry]]
    ) -> list[Event]:
        return [
            event
            for execution in executions
            for event in self._runner.run(
                execution, begun.get(execution.decision.idempotency_key or "")
            )
        ]
