"""The planner's tables: run states (last write wins) and model answers (first write wins)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, insert, select

from agentdeck.planner.adapters.records import KeptAnswer, ModelCallsTable, RunStatesTable
from agentdeck.planner.adapters.tables import SCHEMA
from agentdeck.store import migrate, transaction
from agentdeck.store._models import ServiceStateRow

if TYPE_CHECKING:
    from testkit.sql import Databases, NewId

RUNS, CALLS = RunStatesTable(), ModelCallsTable()


def test_a_run_state_is_written_whole_and_the_last_write_wins(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    first, second = new_id("run"), new_id("run")
    with transaction(engine) as conn:
        RUNS.put_many(
            conn, [(first, '{"v": 1}', now, None, None), (second, '{"v": 1}', now, now, None)]
        )
        RUNS.put_many(conn, [(first, '{"v": 2}', now + timedelta(seconds=1), None, "end")])
        found = RUNS.get_many(conn, [first, second, new_id("run")])
    assert found == {first: '{"v": 2}', second: '{"v": 1}'}


def test_a_turn_keeps_the_first_answer_recorded(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    run = new_id("run")
    first, cached = KeptAnswer("first", False, 120), KeptAnswer("next turn", True, 3)
    with transaction(engine) as conn:
        assert CALLS.add(conn, run, 1, first, at=now)
        assert not CALLS.add(conn, run, 1, cached, at=now), "a replica answered first"
        assert CALLS.add(conn, run, 2, cached, at=now)
        assert (CALLS.get(conn, run, 1), CALLS.get(conn, run, 2)) == (first, cached)
        assert CALLS.get(conn, run, 3) is None


def test_rows_kept_in_the_shared_state_table_move_into_the_planners_tables(
    databases: Databases, now: datetime
) -> None:
    engine = databases.new_engine()
    migrate(engine)  # the plumbing alone, as before the planner had tables
    rows = [
        {"service": "planner", "key": "run-a", "state": '{"run_id": "run-a"}'},
        {"service": "planner-llm", "key": "run-a:2", "state": "sealed:answer"},
        {"service": "tool-executor", "key": "claim:k", "state": "{}"},
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(ServiceStateRow), [{**r, "version": 1, "updated_at": now} for r in rows]
        )
    migrate(engine, SCHEMA)
    with transaction(engine) as conn:
        assert RUNS.get_many(conn, ["run-a"]) == {"run-a": '{"run_id": "run-a"}'}
        assert CALLS.get(conn, "run-a", 2) == KeptAnswer("sealed:answer", True, 0)
        left = conn.execute(select(ServiceStateRow.service)).scalars().all()
    assert left == ["tool-executor"], "only the planner's rows moved"
