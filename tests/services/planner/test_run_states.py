"""Run states in the store: what a load returns, with and without the parsed-state memory."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from agentdeck.contracts.models import RunLimits
from agentdeck.planner.adapters.records import RunStatesTable
from agentdeck.planner.adapters.runs import RunStates
from agentdeck.planner.core import RunState
from agentdeck.store import Store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _state(run_id: str, *, steps_run: int = 0) -> RunState:
    return RunState(
        run_id=run_id,
        tenant="acme",
        agent="support-agent",
        goal="g",
        requested_by="crm",
        inputs={"order_id": "1042"},
        playbook="refund-order",
        playbook_version="1",
        limits=RunLimits(),
        correlation_id=run_id,
        steps={},
        steps_run=steps_run,
        started_at=NOW,
        updated_at=NOW,
    )


def test_a_saved_state_loads_back_without_being_parsed_again(engine: Engine) -> None:
    store, runs = Store(engine), RunStates(Store(engine))
    state = _state(f"run-{id(runs)}")
    with store.transaction() as conn:
        runs.save(conn, runs.prepare({state.run_id: state}))
    with store.transaction(read_only=True) as conn:
        loaded = runs.load(conn, [state.run_id])
    assert loaded[state.run_id] is state


def test_a_state_changed_by_someone_else_is_read_from_the_store(engine: Engine) -> None:
    store, mine, theirs = Store(engine), RunStates(Store(engine)), RunStates(Store(engine))
    run_id = f"run-{id(mine)}"
    with store.transaction() as conn:
        mine.save(conn, mine.prepare({run_id: _state(run_id)}))
        theirs.save(conn, theirs.prepare({run_id: _state(run_id, steps_run=3)}))  # a replica
    with store.transaction(read_only=True) as conn:
        loaded = mine.load(conn, [run_id])
        stored = RunStatesTable().get_many(conn, [run_id])[run_id]
    assert loaded[run_id].steps_run == 3
    assert loaded[run_id] == RunState.model_validate_json(stored)


def test_only_so_many_states_are_remembered(engine: Engine) -> None:
    store, runs = Store(engine), RunStates(Store(engine), remembered=2)
    states = [_state(f"run-{id(runs)}-{n}") for n in range(3)]
    with store.transaction() as conn:
        runs.save(conn, runs.prepare({s.run_id: s for s in states}))
    with store.transaction(read_only=True) as conn:
        newest = runs.load(conn, [states[2].run_id])[states[2].run_id]
        oldest = runs.load(conn, [states[0].run_id])[states[0].run_id]
    assert newest is states[2]
    assert oldest is not states[0]  # forgotten: parsed again
    assert oldest == states[0]
