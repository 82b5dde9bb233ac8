"""The decision journal, budget holds and run spend, in the policy-checker's tables.

``policy_decisions`` (every decision, written with the budget hold it took,
before its events are published), ``policy_hold_refs`` (how to settle a hold,
under each name the settling events use), ``policy_run_spend`` (settled spend
per run: the run's settled calls and its model calls), and the budgets
(:class:`BudgetsRepository`, with the model calls charged to them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, select, tuple_

from agentdeck.policy_checker.adapters.budgets import Budget, BudgetsRepository
from agentdeck.policy_checker.adapters.tables import DecisionRow, HoldRefRow, RunSpendRow
from agentdeck.policy_checker.core import (
    NO_BUDGET,
    BudgetView,
    Charge,
    DecisionRecord,
    Hold,
    HoldOutcome,
    HoldRef,
    RefKey,
    RefKind,
    Settlement,
)
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of

__all__ = ["Journal", "micros_of", "usd_of"]

_MICROS = Decimal(1_000_000)
_DECISIONS = table_of(DecisionRow)
_REFS = table_of(HoldRefRow)
_SPEND = table_of(RunSpendRow)

_GET_DECISIONS = select(_DECISIONS.c.decision_id, _DECISIONS.c.record).where(
    _DECISIONS.c.decision_id.in_(bindparam("decision_ids", expanding=True))
)
_GET_SPEND = select(_SPEND.c.run_id, _SPEND.c.spent_micros).where(
    _SPEND.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_REF_KEYS = tuple_(_REFS.c.kind, _REFS.c.key).in_(bindparam("ref_keys", expanding=True))
_GET_REFS = select(*_REFS.c).where(_REF_KEYS)
_RUN_REFS = select(*_REFS.c).where(_REFS.c.run_id.in_(bindparam("run_ids", expanding=True)))
_DROP_REFS = delete(_REFS).where(_REF_KEYS)


@per_dialect
def _put_decisions(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_DECISIONS)
    return stmt.on_conflict_do_update(
        index_elements=["decision_id"],
        set_={"decided_at": stmt.excluded.decided_at, "record": stmt.excluded.record},
    )


@per_dialect
def _put_refs(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_REFS)
    kept = ("kind", "key")
    return stmt.on_conflict_do_update(
        index_elements=list(kept),
        set_={c.name: stmt.excluded[c.name] for c in _REFS.c if c.name not in kept},
    )


@per_dialect
def _add_spend(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_SPEND)
    return stmt.on_conflict_do_update(
        index_elements=["run_id"],
        set_={
            "spent_micros": _SPEND.c.spent_micros + stmt.excluded.spent_micros,
            "updated_at": stmt.excluded.updated_at,
        },
    )


def usd_of(micros: int) -> Decimal:
    """Micro-USD as the store's money (USD)."""
    return Decimal(micros) / _MICROS


def micros_of(usd: Decimal) -> int:
    """The store's money (USD) as whole micro-USD, rounded down."""
    return int((usd * _MICROS).to_integral_value(rounding=ROUND_FLOOR))


def _view(budget: Budget | None) -> BudgetView:
    if budget is None:
        return NO_BUDGET
    return BudgetView(True, micros_of(budget.limit), micros_of(budget.remaining))


def _ref_row(under: RefKey, ref: HoldRef, now: datetime) -> dict[str, object]:
    return {
        "kind": under.kind.value,
        "key": under.key,
        "reservation_id": ref.reservation_id,
        "scope": ref.scope,
        "amount_micros": ref.amount_micros,
        "run_id": ref.run_id,
        "idempotency_key": ref.idempotency_key,
        "approval_id": ref.approval_id,
        "stored_at": now,
    }


def _hold_ref(row: Row[Any]) -> HoldRef:
    return HoldRef(
        reservation_id=row.reservation_id,
        scope=row.scope,
        amount_micros=row.amount_micros,
        run_id=row.run_id,
        idempotency_key=row.idempotency_key,
        approval_id=row.approval_id,
    )


class Journal:
    """Decisions, holds and spend. Stateless; every method takes the caller's transaction."""

    def __init__(self) -> None:
        self._budgets = BudgetsRepository()

    def decisions(self, conn: Connection, ids: Collection[str]) -> dict[str, DecisionRecord]:
        """The journaled decisions among ``ids``, by decision id (one query)."""
        if not ids:
            return {}
        found = conn.execute(_GET_DECISIONS, {"decision_ids": list(set(ids))})
        return {row.decision_id: DecisionRecord.model_validate_json(row.record) for row in found}

    def ensure_budget(self, conn: Connection, scope: str, micros: int, *, now: datetime) -> None:
        """Give ``scope`` a budget of ``micros`` unless it has one."""
        if self._budgets.get(conn, scope) is None:
            self._budgets.set_limit(conn, scope, usd_of(micros), now=now)

    def budgets(self, conn: Connection, scopes: Iterable[str]) -> dict[str, BudgetView]:
        """The budgets of ``scopes`` (absent ones as no budget)."""
        return {s: _view(self._budgets.get(conn, s)) for s in set(scopes)}

    def run_spend(self, conn: Connection, runs: Collection[str]) -> dict[str, int]:
        """Spend per run (settled calls, charged model calls), for the runs that have any."""
        if not runs:
            return {}
        found = conn.execute(_GET_SPEND, {"run_ids": list(set(runs))})
        return {row.run_id: row.spent_micros for row in found}

    def hold(
        self, conn: Connection, holds: Sequence[Hold], *, now: datetime
    ) -> dict[str, HoldOutcome]:
        """Reserve each hold (idempotent on its reservation id), by reservation id.

        Each outcome carries what remained right after that hold. One read per
        scope at the end is enough: from its first successful hold on, this
        transaction holds the budget row's lock, so nobody else changes it.
        """
        budgets = self._budgets
        held = budgets.reserve_many(
            conn, [(h.scope, h.reservation_id, usd_of(h.amount_micros)) for h in holds], now=now
        )
        views = {scope: _view(budgets.get(conn, scope)) for scope in {h.scope for h in holds}}
        later: dict[str, int] = dict.fromkeys(views, 0)
        outcomes: dict[str, HoldOutcome] = {}
        for hold, ok in reversed(list(zip(holds, held, strict=True))):
            view = views[hold.scope]
            remaining = view.remaining_micros + later[hold.scope]
            outcomes[hold.reservation_id] = HoldOutcome(ok, remaining, view.exists)
            later[hold.scope] += hold.amount_micros if ok else 0
        return outcomes

    def record(
        self,
        conn: Connection,
        records: Sequence[DecisionRecord],
        refs: Sequence[HoldRef],
        *,
        now: datetime,
    ) -> None:
        """Journal ``records`` and remember how to settle ``refs`` (one upsert per table).

        The last write wins: a decision or reference written again replaces the one stored.
        """
        decisions = {
            r.decision_id: {
                "decision_id": r.decision_id,
                "decided_at": r.decided_at,
                "record": r.model_dump_json(),
            }
            for r in records
        }
        if decisions:
            conn.execute(_put_decisions(conn), list(decisions.values()))
        rows = {under: _ref_row(under, ref, now) for ref in refs for under in ref.stored_under()}
        if rows:
            conn.execute(_put_refs(conn), list(rows.values()))

    def refs(self, conn: Connection, keys: Collection[RefKey]) -> dict[RefKey, HoldRef]:
        """The hold references stored under ``keys`` (one query)."""
        if not keys:
            return {}
        found = conn.execute(_GET_REFS, {"ref_keys": [tuple(k) for k in set(keys)]})
        return {RefKey(RefKind(row.kind), row.key): _hold_ref(row) for row in found}

    def open_holds(self, conn: Connection, runs: Collection[str]) -> dict[str, list[HoldRef]]:
        """The open holds of ``runs``, by run, each once (one query).

        Only open holds have references, so this reads no more than a run's calls in flight.
        """
        if not runs:
            return {}
        found: dict[str, dict[str, HoldRef]] = {}
        for row in conn.execute(_RUN_REFS, {"run_ids": list(set(runs))}):
            found.setdefault(row.run_id, {})[row.reservation_id] = _hold_ref(row)
        return {run: list(refs.values()) for run, refs in found.items()}

    def stale_holds(self, conn: Connection, before: datetime, *, limit: int = 500) -> list[HoldRef]:
        """Holds of allowed calls (no human holds them) stored before ``before``, oldest first.

        An allowed call's hold is settled by its outcome, and the executor refuses a
        decision once it has expired; one still open long after that belongs to a
        call whose decision never reached the executor, in a run that ended.
        """
        stmt = (
            select(*_REFS.c)
            .where(
                _REFS.c.kind == RefKind.CALL.value,
                _REFS.c.approval_id.is_(None),
                _REFS.c.stored_at < before,
            )
            .order_by(_REFS.c.stored_at)
            .limit(limit)
        )
        return [_hold_ref(row) for row in conn.execute(stmt)]

    def settle(self, conn: Connection, settlements: Sequence[Settlement], *, now: datetime) -> None:
        """Close each hold (spend or release), add spend to its run, forget its references."""
        spent: dict[str, int] = {}
        closed = self._budgets.close_many(
            conn,
            [
                (s.ref.reservation_id, None if s.actual_micros is None else usd_of(s.actual_micros))
                for s in settlements
            ],
            now=now,
        )
        for item, done in zip(settlements, closed, strict=True):
            actual = item.actual_micros
            if done and actual and item.ref.run_id:
                spent[item.ref.run_id] = spent.get(item.ref.run_id, 0) + actual
        self._forget(conn, {key for item in settlements for key in item.ref.stored_under()})
        self._add_spend(conn, spent, now=now)

    def charge(self, conn: Connection, charges: Sequence[Charge], *, now: datetime) -> None:
        """Add each charge to its budget (even past the limit) and its run's spend, once."""
        if not charges:
            return
        new = self._budgets.charge_many(
            conn,
            [(c.charge_id, c.scope, c.run_id, usd_of(c.amount_micros)) for c in charges],
            now=now,
        )
        spent: dict[str, int] = {}
        for charge, fresh in zip(charges, new, strict=True):
            if fresh and charge.run_id:
                spent[charge.run_id] = spent.get(charge.run_id, 0) + charge.amount_micros
        self._add_spend(conn, spent, now=now)

    def _forget(self, conn: Connection, keys: Iterable[RefKey]) -> None:
        todo = [tuple(k) for k in keys]
        if todo:
            conn.execute(_DROP_REFS, {"ref_keys": todo})

    def _add_spend(self, conn: Connection, spent: Mapping[str, int], *, now: datetime) -> None:
        """Add to each run's spend, in one statement (an increment: no lost update)."""
        rows = [{"run_id": r, "spent_micros": a, "updated_at": now} for r, a in spent.items()]
        if rows:
            conn.execute(_add_spend(conn), rows)
