"""Paused admission in the planner's tables, on every backend: pauses, waiting goals, sweeps."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from agentdeck.contracts import models as m
from agentdeck.planner.adapters.pauses import PauseChanges, PausedAdmission
from agentdeck.planner.adapters.tables import SCHEMA
from agentdeck.planner.core.pause import Pause, Waiting
from agentdeck.store import migrate, transaction

from .test_core import NOW, goal
from .test_pause import ADMITTED, of_tenant

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from testkit.sql import Databases

TABLES = PausedAdmission()
AGENT = m.AdmissionScope.AGENT, "support-agent"
TENANT = m.AdmissionScope.TENANT, "globex"


def _engine(databases: Databases) -> Engine:
    engine = databases.new_engine()
    migrate(engine, SCHEMA)
    return engine


def _pause(scope: m.AdmissionScope, target: str) -> Pause:
    return Pause(scope, target, "oncall", "deploy", NOW)


def _held(*waiting: Waiting) -> PauseChanges:
    return PauseChanges(held={w.run_id: (w, TABLES.seal(w)) for w in waiting})


def test_pauses_are_kept_until_lifted(databases: Databases) -> None:
    engine = _engine(databases)
    with transaction(engine) as conn:
        TABLES.save(conn, PauseChanges(pauses={AGENT: _pause(*AGENT), TENANT: _pause(*TENANT)}))
        TABLES.save(conn, PauseChanges(pauses={TENANT: None}))
        assert set(TABLES.pauses(conn).by_key) == {AGENT}
        assert TABLES.pauses(conn).by_key[AGENT].reason == "deploy"


def test_waiting_goals_are_found_by_the_scope_resumed_or_by_run_and_come_back_whole(
    databases: Databases,
) -> None:
    engine = _engine(databases)
    ours = Waiting(goal(2000), ADMITTED, "support-agent", NOW)
    theirs = Waiting(of_tenant(goal(3000), "globex"), ADMITTED, "other-agent", NOW)
    with transaction(engine) as conn:
        TABLES.save(conn, _held(ours, theirs))
        assert TABLES.waiting(conn, [AGENT], []) == {"run-2000": ours}
        assert set(TABLES.waiting(conn, [TENANT], [])) == {"run-3000"}
        assert set(TABLES.waiting(conn, [(m.AdmissionScope.GLOBAL, "*")], [])) == {
            "run-2000",
            "run-3000",
        }
        assert set(TABLES.waiting(conn, [], ["run-3000"])) == {"run-3000"}
        TABLES.save(conn, PauseChanges(released={"run-2000"}))
        assert TABLES.waiting(conn, [AGENT], []) == {}


def test_a_sweep_finds_the_goals_no_pause_holds_any_more(databases: Databases) -> None:
    engine = _engine(databases)
    first = Waiting(goal(2000), ADMITTED, "support-agent", NOW)
    later = Waiting(of_tenant(goal(3000), "globex"), ADMITTED, "other-agent", NOW)
    later = Waiting(later.goal, ADMITTED, later.agent, NOW + timedelta(seconds=1))
    with transaction(engine) as conn:
        TABLES.save(conn, _held(first, later))
        TABLES.save(conn, PauseChanges(pauses={TENANT: _pause(*TENANT)}))
        assert list(TABLES.uncovered(conn)) == ["run-2000"], "globex's goal is still held"
        TABLES.save(conn, PauseChanges(pauses={AGENT: _pause(*AGENT)}))
        assert TABLES.uncovered(conn) == {}
        TABLES.save(conn, PauseChanges(pauses={AGENT: None, TENANT: None}))
        assert list(TABLES.uncovered(conn)) == ["run-2000", "run-3000"]
        TABLES.save(
            conn,
            PauseChanges(
                pauses={(m.AdmissionScope.GLOBAL, "*"): _pause(m.AdmissionScope.GLOBAL, "*")}
            ),
        )
        assert TABLES.uncovered(conn) == {}
