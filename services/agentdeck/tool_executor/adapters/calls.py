"""Runs one verified call end to end: admission, ledger, tool, output, events."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from agentdeck.contracts import ErrorInfo, Event, Producer
from agentdeck.contracts.models import PolicyDecided
from agentdeck.controls import SwitchView
from agentdeck.errors import RetryableError
from agentdeck.runtime import Clock
from agentdeck.tool_executor.adapters.credentials import CallCredentials
from agentdeck.tool_executor.adapters.effects import EffectEntry
from agentdeck.tool_executor.adapters.guards import ToolGuards
from agentdeck.tool_executor.adapters.invoke import UNKNOWN_WHY, Invoker
from agentdeck.tool_executor.adapters.ledger import CallLedger
from agentdeck.tool_executor.adapters.running import Running, RunningCalls
from agentdeck.tool_executor.core import failures
from agentdeck.tool_executor.core.output import finish_output
from agentdeck.tool_executor.core.plan import Execution
from agentdeck.tool_executor.core.reconcile import Ledger, Step, longest_call_s, next_step
from agentdeck.tool_executor.core.record import CallRecord, call_events
from agentdeck.tool_executor.core.screening import Rules
from agentdeck.tools import ToolContext, ToolContract, ToolRegistry

__all__ = ["CallInFlight", "CallRunner", "Outputs"]


class CallInFlight(RetryableError):
    """The ledger shows the call started recently: another executor may be running it."""


@dataclass(frozen=True)
class Outputs:
    """What the runner's outputs look like: screening rules, size limit, identity."""

    rules: Rules
    max_bytes: int
    producer: Producer


class CallRunner:
    """Executes verified calls so that none has its effect twice. Thread-safe."""

    def __init__(
        self,
        *,
        ledger: CallLedger,
        guards: ToolGuards,
        invoker: Invoker,
        tools: ToolRegistry,
        outputs: Outputs,
        clock: Clock,
        in_flight_grace_s: float,
        credentials: CallCredentials,
        switches: SwitchView,
        running: RunningCalls | None = None,
    ) -> None:
        self._credentials = credentials
        self._switches = switches
        self._running = running if running is not None else RunningCalls(switches)
        self._ledger = ledger
        self._guards = guards
        self._invoker = invoker
        self._tools = tools
        self._out = outputs
        self._clock = clock
        self._grace_s = in_flight_grace_s

    def begin_all(
        self, executions: Sequence[Execution], now: datetime
    ) -> dict[str, tuple[Ledger, EffectEntry]]:
        """The ledger starts of ``executions`` in one transaction, for :meth:`run`'s ``begun``.

        A new call an engaged kill switch covers gets no start here: :meth:`run` refuses it.
        """
        fresh = [e for e in executions if e.seen or self._stopped(e.decision) is None]
        return self._ledger.begin_many([e.decision for e in fresh], now)

    def deferred(self) -> AbstractContextManager[None]:
        """Within the block, outcomes are written in one transaction at its end."""
        return self._ledger.deferred()

    def run(
        self, execution: Execution, begun: tuple[Ledger, EffectEntry] | None = None
    ) -> list[Event]:
        """The events of the call: from the ledger if it already ran, else by running it.

        Args:
            execution: The verified call.
            begun: Its ledger start from :meth:`begin_all`; None begins it here.
        """
        decision, contract = execution.decision, execution.contract
        now = self._clock()
        args = _arguments(decision, contract)
        if not execution.seen:
            # The switch first: a stopped call must not use up a rate-limit slot.
            refused = args if isinstance(args, ErrorInfo) else self._stopped(decision)
            refused = refused or _lapsed(decision, now) or self._admission(decision, now)
            if refused is not None:
                return self._refuse(decision, refused, now, begun)
        found, entry = begun or self._ledger.begin(decision, now)
        step = next_step(
            found, contract=contract, started_at=entry.started_at, now=now, grace_s=self._grace_s
        )
        if step is Step.WAIT:
            raise _in_flight(entry, contract)
        if step is Step.REEMIT:
            return self._events(decision, self._stored(entry))
        if step is Step.UNKNOWN:
            return self._unknown(decision, contract, entry)
        if isinstance(args, ErrorInfo):  # the ledger began for other arguments: cannot be
            return self._finish_failed(decision, entry, args, started=False)
        return self._perform(decision, contract, args, entry)

    def finished(self, conn: Connection, decisions: Sequence[PolicyDecided]) -> list[Event]:
        """The outcome events of the ``decisions`` whose calls have finished, from the ledger."""
        keys = {d.idempotency_key for d in decisions if d.idempotency_key}
        records = self._ledger.finished(conn, keys)
        return [
            event
            for d in decisions
            if (record := records.get(d.idempotency_key or "")) is not None
            for event in self._events(d, record)
        ]

    def _stopped(self, decision: PolicyDecided) -> ErrorInfo | None:
        """The refusal of a call an engaged kill switch covers, read from the live view."""
        env = decision.envelope
        switch = self._switches.covering(
            tenant=env.tenant, agent=env.agent, tool=decision.tool, run=env.run_id
        )
        return None if switch is None else failures.kill_switch_engaged(decision.tool, switch)

    def _admission(self, decision: PolicyDecided, now: datetime) -> ErrorInfo | None:
        contract = self._tools.contract(decision.tool)
        limited = self._guards.rate_limit(contract, decision.envelope.tenant)
        return limited or self._guards.admit(contract, now)

    def _refuse(
        self,
        decision: PolicyDecided,
        failure: ErrorInfo,
        now: datetime,
        begun: tuple[Ledger, EffectEntry] | None,
    ) -> list[Event]:
        found, entry = begun or self._ledger.begin(decision, now)
        if found is Ledger.NEW:
            return self._finish_failed(decision, entry, failure, started=False)
        if found is Ledger.OPEN:
            # Begun before and never finished (its executor died mid-call): it may have
            # acted, so it cannot be refused as if it never ran. Once it can no longer be
            # running, its outcome is reported unknown; it is never run again here.
            contract = self._tools.contract(decision.tool)
            step = next_step(
                found,
                contract=contract,
                started_at=entry.started_at,
                now=now,
                grace_s=self._grace_s,
            )
            if step is Step.WAIT:
                raise _in_flight(entry, contract)
            return self._unknown(decision, contract, entry)
        return self._existing(decision, entry)

    def _existing(self, decision: PolicyDecided, entry: EffectEntry) -> list[Event]:
        """Events of a call someone else began between our read and our begin."""
        record = self._ledger.record_of(entry)
        if record is None:
            raise CallInFlight(
                f"call {entry.idempotency_key} was begun concurrently",
                capability="tool-executor.ledger",
                code="call_in_flight",
                remediation=("retry the batch",),
            )
        return self._events(decision, record)

    def _perform(
        self, decision: PolicyDecided, contract: ToolContract, args: BaseModel, entry: EffectEntry
    ) -> list[Event]:
        tool = self._tools.get(contract.name)
        with self._guards.slot(contract) as got, self._running.watch(decision) as running:
            if not got:
                return self._finish_failed(
                    decision,
                    entry,
                    failures.busy(contract.name, contract.max_concurrency),
                    started=False,
                )
            # The last moment before the effect: a switch engaged since the call was
            # decided, approved or queued for a slot still stops it (checked as the call
            # was registered as running, or signalled since).
            if (switch := running.switch) is not None:
                stopped = failures.kill_switch_engaged(contract.name, switch)
                return self._finish_failed(decision, entry, stopped, started=False)
            start = self._clock()
            ctx = _context(decision, contract, start, running)
            ctx = self._credentials.attach(ctx, contract, args, now=start)
            invoked = self._credentials.scrub(self._invoker.invoke(tool, args, ctx), ctx)
        end = self._clock()
        self._guards.record(contract, end, ok=not invoked.tool_trouble)
        if invoked.cancelled and (switch := running.switch) is not None:  # set before the signal
            failure = failures.stopped_while_running(contract, switch)
            return self._finish_failed(decision, entry, failure, started=True)
        if invoked.unknown:
            return self._unknown(decision, contract, entry)
        record = CallRecord(
            started=True,
            started_at=entry.started_at,
            finished_at=end,
            duration_ms=max(0, int((end - start).total_seconds() * 1000)),
            tries=invoked.tries,
        )
        if invoked.output_json is None:
            record = record.model_copy(update={"failure": invoked.failure})
            self._ledger.fail(entry.idempotency_key, record)
            return self._events(decision, record)
        done = finish_output(
            invoked.output_json,
            contract=contract,
            rules=self._out.rules,
            max_bytes=self._out.max_bytes,
        )
        key = "failure" if isinstance(done, ErrorInfo) else "completion"
        record = record.model_copy(update={key: done})
        owner = (decision.envelope.tenant, decision.envelope.run_id or "")
        record = self._ledger.complete(entry.idempotency_key, record, owner)  # it ran, even if bad
        return self._events(decision, record)

    def _unknown(
        self, decision: PolicyDecided, contract: ToolContract, entry: EffectEntry
    ) -> list[Event]:
        self._ledger.mark_unknown(entry.idempotency_key)
        failure = failures.outcome_unknown(contract, entry.idempotency_key, UNKNOWN_WHY)
        record = CallRecord(
            started=True,
            started_at=entry.started_at,
            finished_at=entry.started_at,  # deterministic: re-emitting yields the same event
            failure=failure,
        )
        return self._events(decision, record)

    def _finish_failed(
        self, decision: PolicyDecided, entry: EffectEntry, failure: ErrorInfo, *, started: bool
    ) -> list[Event]:
        at = self._clock()
        record = CallRecord(
            started=started, started_at=entry.started_at, finished_at=at, failure=failure
        )
        self._ledger.fail(entry.idempotency_key, record)
        return self._events(decision, record)

    def _stored(self, entry: EffectEntry) -> CallRecord:
        record = self._ledger.record_of(entry)
        if record is None:  # finished entries always carry their record
            raise RuntimeError(f"ledger entry {entry.idempotency_key} has no record")
        return record

    def _events(self, decision: PolicyDecided, record: CallRecord) -> list[Event]:
        out = self._out
        return call_events(decision, record, producer=out.producer)


def _in_flight(entry: EffectEntry, contract: ToolContract) -> CallInFlight:
    return CallInFlight(
        f"call {entry.idempotency_key} started at {entry.started_at.isoformat()}"
        f" and may still be running (up to {longest_call_s(contract):.0f}s)",
        capability="tool-executor.ledger",
        code="call_in_flight",
        remediation=("wait; the call is reconciled once it can no longer be running",),
    )


def _arguments(decision: PolicyDecided, contract: ToolContract) -> BaseModel | ErrorInfo:
    try:
        return contract.input_model.model_validate_json(decision.arguments_json or "")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return failures.invalid_arguments(contract.name, problems[:500])


def _context(
    decision: PolicyDecided, contract: ToolContract, now: datetime, running: Running
) -> ToolContext:
    env = decision.envelope
    return ToolContext(
        run_id=env.run_id or "",
        step_id=env.step_id or "",
        tenant=env.tenant,
        agent=env.agent,
        idempotency_key=decision.idempotency_key or "",
        attempt=decision.attempt,
        deadline=now + timedelta(seconds=longest_call_s(contract)),
        cancelled=running.signal,
    )


def _lapsed(decision: PolicyDecided, now: datetime) -> ErrorInfo | None:
    """The refusal of a call whose decision expired before it was released (a late approval).

    A decision is checked when it arrives; one parked for approval is released
    later, when its grant arrives, and may have expired by then.
    """
    expires = decision.expires_at
    return (
        None
        if expires is None or now < expires
        else failures.decision_lapsed(decision.tool, expires)
    )
