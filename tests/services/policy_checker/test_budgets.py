"""Contract: budgets and reservations, on every backend."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.tables import ReservationStatus
from agentdeck.store import IdempotencyKeyReusedError, transaction

if TYPE_CHECKING:
    from testkit.sql import NewId

budgets = BudgetsRepository()


def budget_with(engine: Engine, scope: str, limit: str) -> str:
    with transaction(engine) as conn:
        budgets.set_limit(conn, scope, Decimal(limit))
    return scope


def totals(engine: Engine, scope: str) -> tuple[Decimal, Decimal, Decimal]:
    with transaction(engine, read_only=True) as conn:
        budget = budgets.get(conn, scope)
    assert budget is not None
    return budget.reserved, budget.spent, budget.remaining


def test_a_new_budget_has_nothing_reserved_or_spent(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "25.50")
    assert totals(engine, scope) == (0, 0, Decimal("25.50"))


def test_a_scope_without_budget_has_none_and_reserves_nothing(
    engine: Engine, new_id: NewId
) -> None:
    scope = new_id("run:")
    with transaction(engine) as conn:
        assert budgets.get(conn, scope) is None
        assert not budgets.reserve(conn, scope, new_id("res"), Decimal(1))


def test_reservations_are_granted_while_the_limit_allows(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    with transaction(engine) as conn:
        assert budgets.reserve(conn, scope, new_id("res"), Decimal(6))
        assert budgets.reserve(conn, scope, new_id("res"), Decimal(4))
        assert not budgets.reserve(conn, scope, refused := new_id("res"), Decimal("0.000000001"))
        assert budgets.get_reservation(conn, refused) is None
    assert totals(engine, scope) == (10, 0, 0)


def test_reserving_again_with_the_same_id_holds_the_amount_once(
    engine: Engine, new_id: NewId
) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        assert budgets.reserve(conn, scope, reservation, Decimal(7))
        assert budgets.reserve(conn, scope, reservation, Decimal(7))
    assert totals(engine, scope) == (7, 0, 3)


def test_a_reservation_id_reused_for_another_amount_is_refused(
    engine: Engine, new_id: NewId
) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(2))
    with pytest.raises(IdempotencyKeyReusedError), transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(3))


def test_settling_moves_the_reservation_to_the_actual_spend_once(
    engine: Engine, new_id: NewId
) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(5))
        assert budgets.settle(conn, reservation, Decimal("3.25"))
        assert not budgets.settle(conn, reservation, Decimal("3.25"))
        assert not budgets.release(conn, reservation)
        settled = budgets.get_reservation(conn, reservation)
    assert totals(engine, scope) == (0, Decimal("3.25"), Decimal("6.75"))
    assert settled is not None
    assert (settled.status, settled.actual) == (ReservationStatus.SETTLED, Decimal("3.25"))


def test_releasing_returns_the_amount_once(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(4))
        assert budgets.release(conn, reservation)
        assert not budgets.release(conn, reservation)
        assert not budgets.settle(conn, reservation, Decimal(4))
    assert totals(engine, scope) == (0, 0, 10)


def test_closing_an_unknown_reservation_changes_nothing(engine: Engine, new_id: NewId) -> None:
    with transaction(engine) as conn:
        assert not budgets.settle(conn, new_id("res"), Decimal(1))
        assert not budgets.release(conn, new_id("res"))


def test_amounts_stay_exact_to_nine_decimal_places(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "0.3")
    with transaction(engine) as conn:
        for _ in range(3):
            assert budgets.reserve(conn, scope, new_id("res"), Decimal("0.1"))
        assert not budgets.reserve(conn, scope, new_id("res"), Decimal("0.000000001"))
    assert totals(engine, scope) == (Decimal("0.3"), 0, 0)


def test_lowering_the_limit_keeps_reservations_and_blocks_new_ones(
    engine: Engine, new_id: NewId
) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, new_id("res"), Decimal(8))
        budgets.set_limit(conn, scope, Decimal(5))
        assert not budgets.reserve(conn, scope, new_id("res"), Decimal(1))
    assert totals(engine, scope) == (8, 0, -3)


def test_a_negative_reservation_is_refused(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    with pytest.raises(ValueError, match="negative"), transaction(engine) as conn:
        budgets.reserve(conn, scope, new_id("res"), Decimal(-1))


def test_a_negative_settlement_is_refused(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(1))
    with pytest.raises(ValueError, match="negative"), transaction(engine) as conn:
        budgets.settle(conn, reservation, Decimal(-1))
    assert totals(engine, scope) == (1, 0, 9)


def test_spending_more_than_reserved_is_recorded(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    reservation = new_id("res")
    with transaction(engine) as conn:
        budgets.reserve(conn, scope, reservation, Decimal(2))
        assert budgets.settle(conn, reservation, Decimal("2.5"))
    assert totals(engine, scope) == (0, Decimal("2.5"), Decimal("7.5"))


def test_concurrent_reservations_never_exceed_the_limit(engine: Engine, new_id: NewId) -> None:
    limit, workers, attempts = 17, 8, 5
    scope = budget_with(engine, new_id("tenant:"), str(limit))
    barrier = threading.Barrier(workers, timeout=10)

    def reserve_many(worker: int) -> int:
        barrier.wait()
        granted = 0
        for attempt in range(attempts):
            with transaction(engine) as conn:
                granted += budgets.reserve(conn, scope, f"{scope}/{worker}/{attempt}", Decimal(1))
        return granted

    with ThreadPoolExecutor(workers) as pool:
        granted = sum(pool.map(reserve_many, range(workers)))

    assert granted == limit
    assert totals(engine, scope) == (limit, 0, 0)


def test_reserving_a_batch_holds_each_while_the_limit_allows(engine: Engine, new_id: NewId) -> None:
    scope, other = budget_with(engine, new_id("tenant:"), "10"), new_id("run:")
    first, again = new_id("res"), new_id("res")
    with transaction(engine) as conn:
        assert budgets.reserve_many(conn, [(scope, first, Decimal(3)), (scope, again, Decimal(3))])
        held = budgets.reserve_many(
            conn,
            [
                (scope, first, Decimal(3)),  # already held: granted, holds nothing more
                (scope, new_id("res"), Decimal(3)),
                (scope, refused := new_id("res"), Decimal(2)),  # only 1 left
                (other, new_id("res"), Decimal(1)),  # no budget
                (scope, new_id("res"), Decimal(1)),
            ],
        )
        assert budgets.get_reservation(conn, refused) is None
    assert held == [True, True, False, False, True]
    assert totals(engine, scope) == (10, 0, 0)


def test_a_batch_that_fits_is_held_whole(engine: Engine, new_id: NewId) -> None:
    scopes = [budget_with(engine, new_id("tenant:"), "5") for _ in range(2)]
    holds = [(scopes[i % 2], new_id("res"), Decimal("1.25")) for i in range(8)]
    with transaction(engine) as conn:
        assert budgets.reserve_many(conn, holds) == [True] * 8
    assert [totals(engine, s) for s in scopes] == [(5, 0, 0), (5, 0, 0)]


def test_closing_a_batch_settles_and_releases_each_once(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    ids = [new_id("res") for _ in range(3)]
    with transaction(engine) as conn:
        budgets.reserve_many(conn, [(scope, i, Decimal(2)) for i in ids])
        assert budgets.close_many(conn, [(ids[0], Decimal("1.5")), (ids[1], None)]) == [True, True]
        closed = budgets.close_many(
            conn, [(ids[0], Decimal(1)), (ids[2], Decimal(2)), (new_id("res"), None)]
        )
        statuses = [r.status for i in ids if (r := budgets.get_reservation(conn, i)) is not None]
    assert closed == [False, True, False]
    assert statuses == [
        ReservationStatus.SETTLED,
        ReservationStatus.RELEASED,
        ReservationStatus.SETTLED,
    ]
    assert totals(engine, scope) == (0, Decimal("3.5"), Decimal("6.5"))


def test_a_charge_is_spent_even_past_the_limit_and_the_next_hold_is_refused(
    engine: Engine, new_id: NewId
) -> None:
    scope = budget_with(engine, new_id("tenant:"), "1")
    with transaction(engine) as conn:
        assert budgets.charge_many(conn, [(new_id("llm"), scope, "run-1", Decimal("1.5"))])
    assert totals(engine, scope) == (0, Decimal("1.5"), Decimal("-0.5"))
    with transaction(engine) as conn:
        assert not budgets.reserve(conn, scope, new_id("res"), Decimal("0.01"))


def test_charging_again_with_the_same_id_charges_once(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "10")
    charge = (new_id("llm"), scope, None, Decimal(2))
    with transaction(engine) as conn:
        assert budgets.charge_many(conn, [charge, charge]) == [True, False]
    with transaction(engine) as conn:
        assert budgets.charge_many(conn, [charge]) == [False]
    assert totals(engine, scope) == (0, 2, 8)


def test_concurrent_charges_add_up_and_each_id_counts_once(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "1")
    workers, calls = 6, 5
    barrier = threading.Barrier(workers, timeout=10)

    def charge_all(worker: int) -> int:  # every worker charges the same five calls
        barrier.wait()
        new = 0
        for call in range(calls):
            with transaction(engine) as conn:
                charged = budgets.charge_many(conn, [(f"{scope}/{call}", scope, None, Decimal(1))])
            new += sum(charged)
        return new

    with ThreadPoolExecutor(workers) as pool:
        charged = sum(pool.map(charge_all, range(workers)))

    assert charged == calls
    assert totals(engine, scope) == (0, calls, 1 - calls)


def test_a_charge_to_a_scope_without_budget_changes_no_budget(
    engine: Engine, new_id: NewId
) -> None:
    scope = new_id("tenant:")
    with transaction(engine) as conn:
        assert budgets.charge_many(conn, [(new_id("llm"), scope, None, Decimal(1))]) == [True]
        assert budgets.get(conn, scope) is None


def test_a_negative_charge_is_refused(engine: Engine, new_id: NewId) -> None:
    scope = budget_with(engine, new_id("tenant:"), "1")
    with pytest.raises(ValueError, match="negative"), transaction(engine) as conn:
        budgets.charge_many(conn, [(new_id("llm"), scope, None, Decimal(-1))])
