"""The executor's durable memory: the effect ledger, call claims and approval slots."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from agentdeck.claimcheck import ClaimCheck, Owner
from agentdeck.contracts import FieldCipher
from agentdeck.contracts.models import PolicyDecided
from agentdeck.privacy import AtRest
from agentdeck.store import Store
from agentdeck.tool_executor.adapters.claims import ClaimsRepository
from agentdeck.tool_executor.adapters.effects import EffectEntry, EffectLedger
from agentdeck.tool_executor.adapters.slots import SlotsRepository
from agentdeck.tool_executor.adapters.tables import BeginStatus
from agentdeck.tool_executor.core.parking import ApprovalSlot
from agentdeck.tool_executor.core.plan import Claim, check_claim
from agentdeck.tool_executor.core.reconcile import Ledger
from agentdeck.tool_executor.core.record import CallRecord

__all__ = ["CallLedger", "SealedSlots"]

_FOUND = {
    BeginStatus.NEW: Ledger.NEW,
    BeginStatus.COMPLETED: Ledger.COMPLETED,
    BeginStatus.FAILED: Ledger.FAILED,
    BeginStatus.IN_PROGRESS_OR_UNKNOWN: Ledger.OPEN,
}


_OUTPUT_PATH = "effects.output_json"
_DECISION_PATH = "approval_slots.decision"


@dataclass(frozen=True)
class SealedSlots:
    """Approval slots as stored: parked decisions sealed (see :meth:`CallLedger.seal_slots`)."""

    slots: tuple[ApprovalSlot, ...]


class CallLedger:
    """Reads and writes what the executor must remember across crashes.

    * the effect ledger (:class:`EffectLedger`): a call's start, durable before the
      tool runs, and its outcome as a :class:`CallRecord`;
    * claims (:class:`ClaimsRepository`): the decision event that first used a
      key, written in the same transaction as the ledger's start;
    * approval slots (:class:`SlotsRepository`): parked decisions, saved with
      the batch's processed event ids;
    * large outputs (``store.payloads``), stored by content hash in the same
      transaction as the call's completion, when ``claims`` is given.

    With ``cipher``, a completed call's output and a parked decision are kept
    sealed under their run's subject key (as they travel on the wire), so erasing
    the subject erases them here too.
    """

    def __init__(
        self, store: Store, claims: ClaimCheck | None = None, cipher: FieldCipher | None = None
    ) -> None:
        self._store = store
        self._effects = EffectLedger()
        self._claimed = ClaimsRepository()
        self._slots = SlotsRepository()
        self._claims = claims
        self._at_rest = AtRest(cipher)
        self._lock = threading.Lock()
        self._queued: list[Callable[[Connection], object]] | None = None

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Queue the outcomes written in the block; write them in one transaction at its end.

        Outcomes (:meth:`complete`, :meth:`fail`, :meth:`mark_unknown`) are
        written even when the block raises, so a call that ran is never
        forgotten because another call of the batch failed. The caller
        publishes the calls' events only after the block, as it does after a
        direct write.
        """
        with self._lock:
            self._queued = []
        try:
            yield
        finally:
            with self._lock:
                queued, self._queued = self._queued or [], None
            if queued:
                with self._store.transaction() as conn:
                    for write in queued:
                        write(conn)

    def _write(self, write: Callable[[Connection], object]) -> None:
        with self._lock:
            if self._queued is not None:
                self._queued.append(write)
                return
        with self._store.transaction() as conn:
            write(conn)

    def begin_many(
        self, decisions: Sequence[PolicyDecided], now: datetime
    ) -> dict[str, tuple[Ledger, EffectEntry]]:
        """:meth:`begin` for each decision, in one transaction, by idempotency key.

        Empty when two decisions share a key (each then begins on its own).

        Raises:
            DecisionRefused: ``decision_replayed``: another decision claimed a key.
        """
        keys = [d.idempotency_key or "" for d in decisions]
        if len(set(keys)) < len(keys):
            return {}
        with self._store.transaction() as conn:
            return self._begin(conn, decisions, now)

    def begin(self, decision: PolicyDecided, now: datetime) -> tuple[Ledger, EffectEntry]:
        """Claim the key for this decision and record the call's start, durably, in one go.

        Raises:
            DecisionRefused: ``decision_replayed``: another decision claimed the key.
        """
        with self._store.transaction() as conn:
            return self._begin(conn, [decision], now)[decision.idempotency_key or ""]

    def _begin(
        self, conn: Connection, decisions: Sequence[PolicyDecided], now: datetime
    ) -> dict[str, tuple[Ledger, EffectEntry]]:
        """Claim the unclaimed keys (one statement), then start each call; keys are distinct."""
        keys = [d.idempotency_key or "" for d in decisions]
        claims = self.claims(conn, keys)
        new: dict[str, Claim] = {}
        for decision, key in zip(decisions, keys, strict=True):
            existed = key in claims
            check_claim(decision, claims)
            if not existed:
                new[key] = claims[key]
        self._claimed.add_many(conn, new, now)
        return {
            key: self._start(conn, decision, key, now)
            for decision, key in zip(decisions, keys, strict=True)
        }

    def _start(
        self, conn: Connection, decision: PolicyDecided, key: str, now: datetime
    ) -> tuple[Ledger, EffectEntry]:
        env = decision.envelope
        started = self._effects.begin(
            conn,
            key,
            run_id=env.run_id or "",
            step_id=env.step_id or "",
            tool=decision.tool,
            args_hash=decision.arguments_hash,
            now=now,
        )
        return _FOUND[started.status], started.entry

    def claims(self, conn: Connection, keys: Collection[str]) -> dict[str, Claim]:
        """The claims of ``keys`` that exist."""
        return self._claimed.get_many(conn, keys)

    def slots(self, conn: Connection, approval_ids: Collection[str]) -> dict[str, ApprovalSlot]:
        """The approval slots of ``approval_ids`` that exist, their parked decisions opened.

        A parked decision whose subject was erased reads as no decision: it can
        no longer run.
        """
        found = self._slots.get_many(conn, approval_ids)
        return {approval_id: self._opened(slot) for approval_id, slot in found.items()}

    def seal_slots(self, slots: Mapping[str, ApprovalSlot]) -> SealedSlots:
        """The approval slots a batch changed, their parked decisions sealed, ready to save.

        Call it outside any write transaction: sealing may make the run's key.
        """
        return SealedSlots(tuple(self._sealed_slot(slot) for slot in slots.values()))

    def save_slots(self, conn: Connection, slots: SealedSlots, now: datetime) -> None:
        """Write the approval slots a batch changed (one statement)."""
        self._slots.upsert_many(conn, slots.slots, now)

    def _opened(self, slot: ApprovalSlot) -> ApprovalSlot:
        if slot.decision is None:
            return slot
        opened = self._at_rest.open(slot.decision, record_id=slot.approval_id, path=_DECISION_PATH)
        return slot.model_copy(update={"decision": opened})

    def _sealed_slot(self, slot: ApprovalSlot) -> ApprovalSlot:
        if slot.decision is None or self._at_rest.cipher is None:
            return slot
        envelope = json.loads(slot.decision)["envelope"]
        sealed = self._at_rest.seal(
            slot.decision,
            tenant=envelope["tenant"],
            run_id=envelope.get("run_id") or "",
            record_id=slot.approval_id,
            path=_DECISION_PATH,
        )
        return slot.model_copy(update={"decision": sealed})

    def complete(self, key: str, record: CallRecord, owner: Owner | None = None) -> CallRecord:
        """The tool ran to the end (its output may still have been rejected).

        Args:
            key: The call's idempotency key.
            record: Its outcome.
            owner: (tenant, run id): whose subject key seals the stored output.

        Returns:
            The record as stored (output unsealed): a large output is replaced by
            its claim-check reference.
        """
        record, payload = self._claim_checked(record, owner)
        data = self._sealed(record, key, owner).model_dump_json().encode()
        claims = self._claims

        def write(conn: Connection) -> None:
            if claims is not None and payload is not None:
                claims.store(conn, payload, now=record.finished_at)
            self._effects.complete(conn, key, result=data, now=record.finished_at)

        self._write(write)
        return record

    def _sealed(self, record: CallRecord, key: str, owner: Owner | None) -> CallRecord:
        done = record.completion
        if owner is None or done is None:
            return record
        tenant, run_id = owner
        output = self._at_rest.seal(
            done.output_json, tenant=tenant, run_id=run_id, record_id=key, path=_OUTPUT_PATH
        )
        return _with_output(record, output)

    def _claim_checked(
        self, record: CallRecord, owner: Owner | None
    ) -> tuple[CallRecord, bytes | None]:
        done = record.completion
        if self._claims is None or done is None:
            return record, None
        text, payload = self._claims.plan(done.output_json, owner)
        if payload is None:
            return record, None
        claimed = done.model_copy(update={"output_json": text})
        return record.model_copy(update={"completion": claimed}), payload

    def fail(self, key: str, record: CallRecord) -> None:
        """The call definitely had no effect."""
        error = record.model_dump_json()
        self._write(lambda conn: self._effects.fail(conn, key, error=error, now=record.finished_at))

    def mark_unknown(self, key: str) -> None:
        """Flag a started call whose outcome nobody knows."""
        self._write(lambda conn: self._effects.mark_unknown(conn, key))

    def finished(self, conn: Connection, keys: Collection[str]) -> dict[str, CallRecord]:
        """The stored outcomes of the calls among ``keys`` that have finished."""
        found: dict[str, CallRecord] = {}
        for key in keys:
            entry = self._effects.get(conn, key)
            record = None if entry is None else self.record_of(entry)
            if record is not None:
                found[key] = record
        return found

    def record_of(self, entry: EffectEntry) -> CallRecord | None:
        """The stored outcome of a finished entry (an erased subject's output stays sealed)."""
        stored = entry.result.decode() if entry.result is not None else entry.error
        if stored is None:
            return None
        record = CallRecord.model_validate_json(stored)
        done = record.completion
        if done is None:
            return record
        opened = self._at_rest.open(
            done.output_json, record_id=entry.idempotency_key, path=_OUTPUT_PATH
        )
        return record if opened is None else _with_output(record, opened)


def _with_output(record: CallRecord, output_json: str) -> CallRecord:
    done = record.completion
    assert done is not None  # noqa: S101 - callers checked
    return record.model_copy(
        update={"completion": done.model_copy(update={"output_json": output_json})}
    )
