"""Contract: the journal (decisions, hold references, run spend) and the switchboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event

from agentdeck import controls
from agentdeck.contracts.models import KillSwitchScope
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.store import transaction

from ._support import completed, journaled, refund

if TYPE_CHECKING:
    from testkit.sql import NewId

JOURNAL, SWITCHES, BUDGETS = Journal(), Switchboard(), BudgetsRepository()


def hold_ref(new_id: NewId, *, scope: str, run: str | None, approval: bool) -> core.HoldRef:
    return core.HoldRef(
        reservation_id=new_id("res"),
        scope=scope,
        amount_micros=400_000,
        run_id=run,
        idempotency_key=new_id("call"),
        approval_id=new_id("approval") if approval else None,
    )


def settlement(ref: core.HoldRef, actual_micros: int | None) -> core.Settlement:
    """Close ``ref``'s hold (the event that closes it does not matter to the journal)."""
    return core.Settlement(ref, actual_micros, completed(refund(2000), actual_micros or 0))


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` sends meanwhile (an executemany counts once)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_journaled_decisions_are_found_by_id_and_the_last_write_wins(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    first, second = journaled(new_id("decision"), now), journaled(new_id("decision"), now)
    again = journaled(first.decision_id, now + timedelta(seconds=1), reason="again")
    with transaction(engine) as conn:
        JOURNAL.record(conn, [first, second], [], now=now)
        JOURNAL.record(conn, [again], [], now=now)
        found = JOURNAL.decisions(conn, [first.decision_id, second.decision_id, new_id("x")])
        assert JOURNAL.decisions(conn, []) == {}
    assert found == {first.decision_id: again, second.decision_id: second}


def test_a_hold_is_found_by_its_call_and_by_its_approval_until_it_is_settled(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    scope, run = new_id("tenant:"), new_id("run")
    parked = hold_ref(new_id, scope=scope, run=run, approval=True)
    plain = hold_ref(new_id, scope=scope, run=None, approval=False)
    with transaction(engine) as conn:
        JOURNAL.record(conn, [], [parked, plain], now=now)
        keys = [*parked.stored_under(), *plain.stored_under(), core.call_key(new_id("call"))]
        found = JOURNAL.refs(conn, keys)
        assert found == {
            core.call_key(parked.idempotency_key): parked,
            core.approval_key(parked.approval_id or ""): parked,
            core.call_key(plain.idempotency_key): plain,
        }
        # Same name, other kind: an approval id is not a call's key.
        assert JOURNAL.refs(conn, [core.approval_key(plain.idempotency_key)]) == {}
        JOURNAL.settle(conn, [settlement(parked, None)], now=now)
        assert JOURNAL.refs(conn, keys) == {core.call_key(plain.idempotency_key): plain}


def test_a_reference_written_again_replaces_the_one_stored(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    old = hold_ref(new_id, scope=new_id("tenant:"), run=None, approval=False)
    new = old.model_copy(update={"reservation_id": new_id("res"), "amount_micros": 9})
    with transaction(engine) as conn:
        JOURNAL.record(conn, [], [old], now=now)
        JOURNAL.record(conn, [], [new], now=now)
        assert JOURNAL.refs(conn, old.stored_under()) == {core.call_key(old.idempotency_key): new}


def test_settling_closes_the_hold_and_adds_what_it_spent_to_its_run(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    scope, run = new_id("tenant:"), new_id("run")
    refs = [hold_ref(new_id, scope=scope, run=run, approval=False) for _ in range(3)]
    with transaction(engine) as conn:
        BUDGETS.set_limit(conn, scope, Decimal(10), now=now)
        for ref in refs:
            assert BUDGETS.reserve(conn, scope, ref.reservation_id, Decimal("0.4"), now=now)
        JOURNAL.record(conn, [], refs, now=now)
        assert JOURNAL.run_spend(conn, [run]) == {}
    settle = [settlement(refs[0], 100), settlement(refs[1], 20)]
    with transaction(engine) as conn:
        JOURNAL.settle(conn, settle, now=now)
    with transaction(engine) as conn:
        JOURNAL.settle(conn, [settlement(refs[2], 3)], now=now)
        JOURNAL.settle(conn, settle, now=now)  # closed already: spends nothing more
        assert JOURNAL.run_spend(conn, [run, new_id("run")]) == {run: 123}
        assert JOURNAL.run_spend(conn, []) == {}
        budget = BUDGETS.get(conn, scope)
    assert budget is not None
    assert (budget.reserved, budget.spent) == (0, Decimal("0.000123"))


def test_a_batch_is_read_and_written_in_one_statement_per_table(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    scope, runs = new_id("tenant:"), [new_id("run") for _ in range(3)]
    records = [journaled(new_id("decision"), now) for _ in range(3)]
    refs = [hold_ref(new_id, scope=scope, run=r, approval=True) for r in runs]
    keys = [k for ref in refs for k in ref.stored_under()]
    with transaction(engine) as conn:
        BUDGETS.set_limit(conn, scope, Decimal(10), now=now)
        for ref in refs:
            assert BUDGETS.reserve(conn, scope, ref.reservation_id, Decimal("0.4"), now=now)
        with statements(engine) as written:
            JOURNAL.record(conn, records, refs, now=now)
        with statements(engine) as read:
            JOURNAL.decisions(conn, [r.decision_id for r in records])
            JOURNAL.refs(conn, keys)
            JOURNAL.run_spend(conn, runs)
        settle = [settlement(ref, 5) for ref in refs]
        with statements(engine) as settled:
            JOURNAL.settle(conn, settle, now=now)
        assert JOURNAL.run_spend(conn, runs) == dict.fromkeys(runs, 5)
    assert len(written) == 2, written  # the decisions, the references
    assert len(read) == 3, read
    # budgets: read the open holds, close them, move the amounts (one scope);
    # then forget the references and add the spend.
    assert len([s for s in settled if "policy_" in s]) == 2, settled


def test_a_switch_is_kept_per_scope_and_target_and_the_last_write_wins(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    name = new_id("x")
    tenant = controls.Switch(KillSwitchScope.TENANT, name, True, "oncall", "incident", now)
    agent = controls.Switch(KillSwitchScope.AGENT, name, True, "oncall", "loops", now)
    released = controls.Switch(
        KillSwitchScope.TENANT, name, False, "lead", "fixed", now + timedelta(seconds=1)
    )
    tenant_key = controls.switch_key(KillSwitchScope.TENANT, name)
    agent_key = controls.switch_key(KillSwitchScope.AGENT, name)
    tool_key = controls.switch_key(KillSwitchScope.TOOL, name)
    with transaction(engine) as conn:
        SWITCHES.save(conn, [tenant, agent], now=now)
        assert SWITCHES.get_many(conn, [tenant_key, agent_key, tool_key]) == {
            tenant_key: tenant,
            agent_key: agent,
        }
        SWITCHES.save(conn, [released], now=now)
        assert SWITCHES.get_many(conn, [tenant_key]) == {tenant_key: released}
        assert SWITCHES.get_many(conn, []) == {}
        mine = [s for s in SWITCHES.all(conn) if s.target == name]
    assert mine == [agent, released]  # in (scope, target) order
