"""The decision journal, budget holds and run spend, in the store.

Keys of the service's state: ``decision:<id>`` (every decision, written with
the budget hold it took, before its events are published), ``call:<key>`` and
``approval:<id>`` (how to settle a hold), ``spend:<run>`` (settled spend).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel
from sqlalchemy import Connection

from agentdeck.policy_checker.adapters.budgets import Budget, BudgetsRepository
from agentdeck.policy_checker.core import (
    NO_BUDGET,
    BudgetView,
    DecisionRecord,
    Hold,
    HoldOutcome,
    HoldRef,
    Settlement,
)
from agentdeck.store import Store

__all__ = ["Journal", "micros_of", "usd_of"]

_MICROS = Decimal(1_000_000)
_DECISION = "decision:"
_SPEND = "spend:"


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


class _Spend(BaseModel):
    spent_micros: int = 0


class Journal:
    """Decisions, holds and spend; every method takes the caller's transaction."""

    def __init__(self, store: Store, service: str) -> None:
        self._store = store
        self._service = service
        self._budgets = BudgetsRepository()

    def decisions(self, conn: Connection, ids: Collection[str]) -> dict[str, DecisionRecord]:
        """The journaled decisions among ``ids``, by decision id."""
        found = self._store.state.get_many(conn, self._service, [_DECISION + i for i in ids])
        return {
            key.removeprefix(_DECISION): DecisionRecord.model_validate_json(entry.state)
            for key, entry in found.items()
        }

    def ensure_budget(self, conn: Connection, scope: str, micros: int, *, now: datetime) -> None:
        """Give ``scope`` a budget of ``micros`` unless it has one."""
        if self._budgets.get(conn, scope) is None:
            self._budgets.set_limit(conn, scope, usd_of(micros), now=now)

    def budgets(self, conn: Connection, scopes: Iterable[str]) -> dict[str, BudgetView]:
        """The budgets of ``scopes`` (absent ones as no budget)."""
        return {s: _view(self._budgets.get(conn, s)) for s in set(scopes)}

    def run_spend(self, conn: Connection, runs: Collection[str]) -> dict[str, int]:
        """Settled spend per run, for the runs that have any."""
        found = self._store.state.get_many(conn, self._service, [_SPEND + r for r in runs])
        return {
            key.removeprefix(_SPEND): _Spend.model_validate_json(entry.state).spent_micros
            for key, entry in found.items()
        }

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
        """Journal ``records`` and remember how to settle ``refs``, in one statement."""
        rows = {_DECISION + r.decision_id: r.model_dump_json() for r in records}
        for ref in refs:
            rows.update(dict.fromkeys(ref.stored_under(), ref.model_dump_json()))
        self._store.state.upsert_many(conn, self._service, rows, now=now)

    def refs(self, conn: Connection, keys: Collection[str]) -> dict[str, HoldRef]:
        """The hold references stored under ``keys``."""
        found = self._store.state.get_many(conn, self._service, keys)
        return {key: HoldRef.model_validate_json(entry.state) for key, entry in found.items()}

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
        keys = {key for item in settlements for key in item.ref.stored_under()}
        self._store.state.delete_many(conn, self._service, keys)
        self._add_spend(conn, spent, now=now)

    def _add_spend(self, conn: Connection, spent: Mapping[str, int], *, now: datetime) -> None:
        if not spent:
            return
        before = self.run_spend(conn, list(spent))
        rows = {
            _SPEND + run: _Spend(spent_micros=before.get(run, 0) + amount).model_dump_json()
            for run, amount in spent.items()
        }
        self._store.state.upsert_many(conn, self._service, rows, now=now)
