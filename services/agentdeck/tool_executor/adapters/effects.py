"""The effect ledger: each side effect is recorded before it happens and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select, update

from agentdeck.store.errors import IdempotencyKeyReusedError, StoreError
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of
from agentdeck.tool_executor.adapters.tables import BeginStatus, EffectRow, EffectStatus

__all__ = ["BeginOutcome", "EffectEntry", "EffectLedger"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectEntry:
    """One row of the effect ledger.

    Attributes:
        idempotency_key: Identifies the effect; one row per key.
        run_id: Run that asked for the effect.
        step_id: Step that asked for the effect.
        tool: Tool that performs it.
        args_hash: Hash of the exact arguments; a key never changes arguments.
        status: Where the effect stands.
        attempt: 1 for the first attempt, incremented by each retry after a failure.
        started_at: When the current attempt started.
        finished_at: When it completed or failed.
        result: The stored result of a completed effect.
        error: Why it failed.
    """

    idempotency_key: str
    run_id: str
    step_id: str
    tool: str
    args_hash: str
    status: EffectStatus
    attempt: int
    started_at: datetime
    finished_at: datetime | None = None
    result: bytes | None = None
    error: str | None = None


_BEGIN_STATUS = {
    EffectStatus.STARTED: BeginStatus.IN_PROGRESS_OR_UNKNOWN,
    EffectStatus.UNKNOWN: BeginStatus.IN_PROGRESS_OR_UNKNOWN,
    EffectStatus.COMPLETED: BeginStatus.COMPLETED,
    EffectStatus.FAILED: BeginStatus.FAILED,
}
_OPEN = (EffectStatus.STARTED.value, EffectStatus.UNKNOWN.value)


@dataclass(frozen=True, slots=True)
class BeginOutcome:
    """What :meth:`EffectLedger.begin` found, and the ledger entry it found.

    Attributes:
        status: ``NEW`` means the caller owns the attempt and may perform the effect;
            every other status means it must not.
        entry: The ledger entry as it stands after ``begin``.
    """

    status: BeginStatus
    entry: EffectEntry

    @property
    def may_perform(self) -> bool:
        """Whether the caller may perform the effect now."""
        return self.status is BeginStatus.NEW

    @property
    def result(self) -> bytes | None:
        """The stored result of a completed effect."""
        return self.entry.result


_TABLE = table_of(EffectRow)
_COLUMNS = tuple(_TABLE.c)
_KEY = _TABLE.c.idempotency_key == bindparam("key")
_GET = select(*_COLUMNS).where(_KEY)
_FINISH = (
    update(_TABLE)
    .where(_KEY, _TABLE.c.status.in_(_OPEN))
    .values(
        status=bindparam("to_status"),
        finished_at=bindparam("at"),
        result=bindparam("result_bytes"),
        error=bindparam("error_text"),
    )
)
_MARK_UNKNOWN = (
    update(_TABLE)
    .where(_KEY, _TABLE.c.status == EffectStatus.STARTED.value)
    .values(status=EffectStatus.UNKNOWN.value)
)
_RETRY = (
    update(_TABLE)
    .where(
        _KEY,
        _TABLE.c.status == EffectStatus.FAILED.value,
        _TABLE.c.attempt == bindparam("failed_attempt"),
    )
    .values(
        status=EffectStatus.STARTED.value,
        attempt=_TABLE.c.attempt + 1,
        started_at=bindparam("at"),
        finished_at=None,
        error=None,
    )
)


@per_dialect
def _insert_new(insert: InsertFactory) -> AnyInsert:
    return insert(_TABLE).on_conflict_do_nothing()


class EffectLedger:
    """Guards side effects so that none happens twice. Stateless; pass the connection.

    Protocol: :meth:`begin` and commit *before* performing the effect; then
    :meth:`complete` or :meth:`fail`. An entry left ``started`` (a crash between
    the two) is never performed again blindly: :meth:`begin` reports
    ``IN_PROGRESS_OR_UNKNOWN`` and a reconciler settles it, after
    :meth:`mark_unknown` if the outcome cannot be learnt at once.
    """

    def begin(
        self,
        conn: Connection,
        key: str,
        *,
        run_id: str,
        step_id: str,
        tool: str,
        args_hash: str,
        now: datetime | None = None,
        retry_failed: bool = False,
    ) -> BeginOutcome:
        """Record the start of effect ``key``, or report what an earlier attempt left.

        Atomic: of several callers racing on one key, exactly one gets ``NEW``.

        Args:
            conn: Connection inside the caller's transaction (commit it before the effect).
            key: The effect's idempotency key.
            run_id: Run asking for the effect.
            step_id: Step asking for the effect.
            tool: Tool that will perform it.
            args_hash: Hash of the exact arguments.
            now: Start time; defaults to the current time.
            retry_failed: Start a new attempt if the previous one ``failed``.

        Raises:
            IdempotencyKeyReusedError: ``key`` is recorded with other arguments.
        """
        entry = EffectEntry(
            idempotency_key=key,
            run_id=run_id,
            step_id=step_id,
            tool=tool,
            args_hash=args_hash,
            status=EffectStatus.STARTED,
            attempt=1,
            started_at=now or datetime.now(UTC),
        )
        values = {c.name: getattr(entry, c.name) for c in _COLUMNS} | {"status": "started"}
        if conn.execute(_insert_new(conn), values).rowcount == 1:
            return BeginOutcome(BeginStatus.NEW, entry)
        existing = self._existing(conn, key, args_hash)
        if retry_failed and existing.status is EffectStatus.FAILED:
            return self._retry(conn, existing, entry.started_at)
        return BeginOutcome(_BEGIN_STATUS[existing.status], existing)

    def complete(
        self, conn: Connection, key: str, *, result: bytes | None, now: datetime | None = None
    ) -> bool:
        """Record that effect ``key`` happened; True unless it was already final."""
        return self._finish(conn, key, EffectStatus.COMPLETED, now, result=result)

    def fail(self, conn: Connection, key: str, *, error: str, now: datetime | None = None) -> bool:
        """Record that effect ``key`` definitively did not happen; True unless already final."""
        return self._finish(conn, key, EffectStatus.FAILED, now, error=error)

    def mark_unknown(self, conn: Connection, key: str) -> bool:
        """Flag a started effect whose outcome is unknown; True if it was ``started``."""
        return conn.execute(_MARK_UNKNOWN, {"key": key}).rowcount == 1

    def get(self, conn: Connection, key: str) -> EffectEntry | None:
        """The entry of ``key``, or None."""
        row = conn.execute(_GET, {"key": key}).mappings().first()
        return None if row is None else _to_entry(row)

    def unresolved(
        self, conn: Connection, *, started_before: datetime, limit: int = 100
    ) -> list[EffectEntry]:
        """Entries still ``started`` or ``unknown`` that started before ``started_before``.

        These are what a reconciler looks at, oldest first.
        """
        stmt = (
            select(*_COLUMNS)
            .where(_TABLE.c.status.in_(_OPEN), _TABLE.c.started_at < started_before)
            .order_by(_TABLE.c.started_at)
            .limit(limit)
        )
        return [_to_entry(row) for row in conn.execute(stmt).mappings()]

    def _existing(self, conn: Connection, key: str, args_hash: str) -> EffectEntry:
        existing = self.get(conn, key)
        if existing is None:  # deleted between the two statements: not done by the store
            raise StoreError(f"effect ledger entry {key!r} vanished")
        if existing.args_hash != args_hash:
            raise IdempotencyKeyReusedError(
                f"idempotency key {key!r} was recorded with other arguments",
                capability="store.effect_ledger",
                code="idempotency_key_reused",
                remediation=("derive the key from the call's arguments",),
            )
        return existing

    def _retry(self, conn: Connection, failed: EffectEntry, now: datetime) -> BeginOutcome:
        params = {"key": failed.idempotency_key, "failed_attempt": failed.attempt, "at": now}
        won = conn.execute(_RETRY, params).rowcount == 1
        entry = self._existing(conn, failed.idempotency_key, failed.args_hash)
        return BeginOutcome(BeginStatus.NEW if won else _BEGIN_STATUS[entry.status], entry)

    def _finish(
        self,
        conn: Connection,
        key: str,
        status: EffectStatus,
        now: datetime | None,
        *,
        result: bytes | None = None,
        error: str | None = None,
    ) -> bool:
        params = {
            "key": key,
            "to_status": status.value,
            "at": now or datetime.now(UTC),
            "result_bytes": result,
            "error_text": error,
        }
        return conn.execute(_FINISH, params).rowcount == 1


def _to_entry(row: RowMapping) -> EffectEntry:
    values: dict[str, Any] = dict(row)
    values["status"] = EffectStatus(values["status"])
    return EffectEntry(**values)
