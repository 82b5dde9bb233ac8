"""The executor's durable memory: the effect ledger, call claims and approval slots."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Connection

from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts.models import PolicyDecided
from agentdeck.store import BeginStatus, EffectEntry, Store
from agentdeck.tool_executor.core.parking import ApprovalSlot
from agentdeck.tool_executor.core.plan import Claim, check_claim
from agentdeck.tool_executor.core.reconcile import Ledger
from agentdeck.tool_executor.core.record import CallRecord

__all__ = ["SERVICE", "CallLedger"]

SERVICE = "tool-executor"
"""Service name of the executor's rows in ``service_state``."""

_FOUND = {
    BeginStatus.NEW: Ledger.NEW,
    BeginStatus.COMPLETED: Ledger.COMPLETED,
    BeginStatus.FAILED: Ledger.FAILED,
    BeginStatus.IN_PROGRESS_OR_UNKNOWN: Ledger.OPEN,
}


def _claim_key(idempotency_key: str) -> str:
    return f"claim:{idempotency_key}"


def _slot_key(approval_id: str) -> str:
    return f"approval:{approval_id}"


class CallLedger:
    """Reads and writes what the executor must remember across crashes.

    * the effect ledger (``store.effects``): a call's start, durable before the
      tool runs, and its outcome as a :class:`CallRecord`;
    * claims (``claim:<idempotency key>``): the decision event that first used a
      key, written in the same transaction as the ledger's start;
    * approval slots (``approval:<id>``): parked decisions, saved with the
      batch's processed event ids;
    * large outputs (``store.payloads``), stored by content hash in the same
      transaction as the call's completion, when ``claims`` is given.
    """

    def __init__(self, store: Store, claims: ClaimCheck | None = None) -> None:
        self._store = store
        self._claims = claims

    def claims(self, conn: Connection, keys: Collection[str]) -> dict[str, Claim]:
        """The claims of ``keys`` that exist."""
        found = self._store.state.get_many(conn, SERVICE, [_claim_key(k) for k in keys])
        return {
            entry.key.removeprefix("claim:"): Claim(**json.loads(entry.state))
            for entry in found.values()
        }

    def slots(self, conn: Connection, approval_ids: Collection[str]) -> dict[str, ApprovalSlot]:
        """The approval slots of ``approval_ids`` that exist."""
        found = self._store.state.get_many(conn, SERVICE, [_slot_key(a) for a in approval_ids])
        return {
            slot.approval_id: slot
            for slot in (ApprovalSlot.model_validate_json(e.state) for e in found.values())
        }

    def save_slots(self, conn: Connection, slots: Mapping[str, ApprovalSlot]) -> None:
        """Write the approval slots a batch changed."""
        states = {_slot_key(a): slot.model_dump_json() for a, slot in slots.items()}
        self._store.state.upsert_many(conn, SERVICE, states)

    def begin(self, decision: PolicyDecided, now: datetime) -> tuple[Ledger, EffectEntry]:
        """Claim the key for this decision and record the call's start, durably, in one go.

        Raises:
            DecisionRefused: ``decision_replayed``: another decision claimed the key.
        """
        key = decision.idempotency_key or ""
        env = decision.envelope
        claim = Claim(decision.decision_id, env.event_id)
        with self._store.transaction() as conn:
            existing = self.claims(conn, [key])
            check_claim(decision, dict(existing))
            if not existing:
                state = json.dumps({"decision_id": claim.decision_id, "event_id": claim.event_id})
                self._store.state.put(conn, SERVICE, _claim_key(key), state, expected_version=None)
            begun = self._store.effects.begin(
                conn,
                key,
                run_id=env.run_id or "",
                step_id=env.step_id or "",
                tool=decision.tool,
                args_hash=decision.arguments_hash,
                now=now,
            )
        return _FOUND[begun.status], begun.entry

    def complete(self, key: str, record: CallRecord) -> CallRecord:
        """The tool ran to the end (its output may still have been rejected).

        Returns:
            The record as stored: a large output is replaced by its claim-check reference.
        """
        with self._store.transaction() as conn:
            record = self._claim_checked(conn, record)
            data = record.model_dump_json().encode()
            self._store.effects.complete(conn, key, result=data, now=record.finished_at)
        return record

    def _claim_checked(self, conn: Connection, record: CallRecord) -> CallRecord:
        done = record.completion
        if self._claims is None or done is None or not self._claims.needed(done.output_json):
            return record
        text = self._claims.check_in(conn, done.output_json, now=record.finished_at)
        claimed = done.model_copy(update={"output_json": text})
        return record.model_copy(update={"completion": claimed})

    def fail(self, key: str, record: CallRecord) -> None:
        """The call definitely had no effect."""
        with self._store.transaction() as conn:
            self._store.effects.fail(
                conn, key, error=record.model_dump_json(), now=record.finished_at
            )

    def mark_unknown(self, key: str) -> None:
        """Flag a started call whose outcome nobody knows."""
        with self._store.transaction() as conn:
            self._store.effects.mark_unknown(conn, key)

    @staticmethod
    def record_of(entry: EffectEntry) -> CallRecord | None:
        """The stored outcome of a finished entry."""
        stored = entry.result.decode() if entry.result is not None else entry.error
        return None if stored is None else CallRecord.model_validate_json(stored)
