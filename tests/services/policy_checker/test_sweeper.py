"""The stale-hold sweep: an allowed call's hold that can never settle is given back; a hold
that may still settle (recent, or waiting for a human) is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.tables import SCHEMA
from agentdeck.policy_checker.sweeper import HoldSweeper
from agentdeck.store import Store, migrate, transaction

from .test_journal import hold_ref

if TYPE_CHECKING:
    from testkit.sql import Databases, NewId

STALE = timedelta(hours=1)


def test_only_allowed_holds_older_than_the_limit_are_given_back(
    databases: Databases, new_id: NewId, now: datetime
) -> None:
    engine = databases.new_engine()
    migrate(engine, SCHEMA)
    budgets, journal = BudgetsRepository(), Journal()
    scope, run = "tenant:acme", new_id("run")
    old = hold_ref(new_id, scope=scope, run=run, approval=False)
    parked = hold_ref(new_id, scope=scope, run=run, approval=True)
    fresh = hold_ref(new_id, scope=scope, run=run, approval=False)
    with transaction(engine) as conn:
        budgets.set_limit(conn, scope, Decimal(10), now=now)
        for ref in (old, parked, fresh):
            assert budgets.reserve(conn, scope, ref.reservation_id, Decimal("0.4"), now=now)
        journal.record(conn, [], [old, parked], now=now - STALE - timedelta(seconds=1))
        journal.record(conn, [], [fresh], now=now)
    sweeper = HoldSweeper(Store(engine), clock=lambda: now, stale_after=STALE, interval_s=1)

    assert sweeper.tick() == 1
    assert sweeper.tick() == 0, "released once"
    with transaction(engine) as conn:
        statuses = {
            ref.reservation_id: budgets.get_reservation(conn, ref.reservation_id)
            for ref in (old, parked, fresh)
        }
        budget = budgets.get(conn, scope)
    assert {k: r.status for k, r in statuses.items() if r} == {
        old.reservation_id: "released",
        parked.reservation_id: "reserved",
        fresh.reservation_id: "reserved",
    }
    assert budget is not None
    assert budget.reserved == Decimal("0.8")
