"""The executor's batch handler: verify the batch, run its calls, keep the approval slots."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from agentdeck.contracts import Event
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    PolicyDecided,
)
from agentdeck.controls import SwitchView
from agentdeck.kafka import Inbound
from agentdeck.runtime import Clock, Decision
from agentdeck.tool_executor.adapters.calls import CallRunner
from agentdeck.tool_executor.adapters.effects import EffectEntry
from agentdeck.tool_executor.adapters.ledger import CallLedger, SealedSlots
from agentdeck.tool_executor.core.parking import ApprovalSlot, decision_from_json
from agentdeck.tool_executor.core.plan import Claim, Execution, Trust, approval_ids, plan
from agentdeck.tool_executor.core.reconcile import Ledger

__all__ = ["RELEVANT", "ExecutorHandler", "Planned"]

RELEVANT = (PolicyDecided, ApprovalGranted, ApprovalDenied, ApprovalExpired)
"""The events the executor acts on; the rest of its topics is not its business."""


def _keys(events: Sequence[Event], slots: dict[str, ApprovalSlot]) -> set[str]:
    keys = {e.idempotency_key for e in events if isinstance(e, PolicyDecided)}
    parked = (decision_from_json(s.decision) for s in slots.values() if s.decision)
    return {k for k in keys | {d.idempotency_key for d in parked} if k}


@dataclass(frozen=True)
class _Loaded:
    events: list[Event]
    slots: dict[str, ApprovalSlot]
    claims: dict[str, Claim]


@dataclass(frozen=True)
class Planned:
    """A batch's calls to run and its approval slots, sealed and ready to save."""

    executions: list[Execution]
    slots: SealedSlots


class ExecutorHandler:
    """Decisions and approval outcomes in; ToolCallCompleted/Failed out (starts stay in the ledger).

    The runtime's handler shape (:func:`agentdeck.runtime.transactional`): ``load``
    reads the batch's approval slots and claims, ``decide`` verifies every event
    (a refused event raises before anything runs, and the loop dead-letters it
    alone) and plans the calls, ``act`` runs them (one run's calls in order,
    different runs in parallel; each start is in the effect ledger before its
    tool runs; nothing runs before the view of the kill switches has read the
    whole control topic, and a call an engaged switch covers is refused right
    before it would run), and ``save`` writes the approval slots with the processed ids
    once the outcomes are acknowledged.
    """

    def __init__(
        self,
        *,
        ledger: CallLedger,
        runner: CallRunner,
        trust: Trust,
        clock: Clock,
        pool: ThreadPoolExecutor,
        switches: SwitchView,
        switches_wait_s: float = 5.0,
    ) -> None:
        self._switches = switches
        self._switches_wait_s = switches_wait_s
        self._ledger = ledger
        self._runner = runner
        self._trust = trust
        self._clock = clock
        self._pool = pool

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> _Loaded:
        """The approval slots and claims the batch's events touch."""
        events = [i.event for i in batch]
        slots = self._ledger.slots(conn, approval_ids(events))
        return _Loaded(events, slots, self._ledger.claims(conn, _keys(events, slots)))

    def decide(self, state: _Loaded, batch: Sequence[Inbound]) -> Decision[Planned]:  # noqa: ARG002 -- loaded
        """Verify the batch and plan its calls; changed slots come sealed, ready to save."""
        trust = replace(self._trust, now=self._clock())
        decided = plan(state.events, trust=trust, slots=state.slots, claims=state.claims)
        # Sealed here, before the runtime opens its write transaction (one writer on SQLite).
        return Decision(Planned(decided.executions, self._ledger.seal_slots(decided.slots)))

    def act(self, decision: Decision[Planned]) -> list[Event]:
        """Run the planned calls; their outcome events."""
        return self._execute(decision.state.executions)

    def save(self, conn: Connection, decision: Decision[Planned]) -> None:
        """Write the approval slots the batch changed."""
        self._ledger.save_slots(conn, decision.state.slots, self._clock())

    def replay(self, conn: Connection, seen: Sequence[Inbound]) -> list[Event]:
        """The outcomes of calls already handled, again, from the ledger (nothing runs again).

        A decision or grant comes again when it is re-driven because its outcome
        never reached the planner (a broker that lost its log): the outcome is
        published again with its id, and is a duplicate wherever it did arrive.
        """
        events = [i.event for i in seen]
        decisions = [e for e in events if isinstance(e, PolicyDecided)]
        slots = self._ledger.slots(conn, approval_ids(events))
        decisions += [decision_from_json(s.decision) for s in slots.values() if s.decision]
        return self._runner.finished(conn, decisions)

    def _execute(self, executions: list[Execution]) -> list[Event]:
        """Run the calls: every start in one transaction, every outcome in one more."""
        if not executions:
            return []
        # Fail closed: until every switch set before this process started is known, run
        # nothing (the loop retries the batch; nothing has begun).
        self._switches.require_caught_up(self._switches_wait_s, capability="tool-executor.switches")
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
