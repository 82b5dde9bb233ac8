"""Contract: the runs projection, on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from agentdeck.store import transaction
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunRecord, RunStatus

if TYPE_CHECKING:
    from testkit.sql import NewId

runs = RunsRepository()


def submitted(run_id: str, tenant: str, at: datetime) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        tenant=tenant,
        agent="refund-agent",
        status=RunStatus.SUBMITTED,
        goal="Refund order 42",
        started_at=at,
        updated_at=at,
        playbook_version="refunds@3",
    )


def test_an_unknown_run_is_none(engine: Engine, new_id: NewId) -> None:
    with transaction(engine) as conn:
        assert runs.get(conn, new_id("run")) is None


def test_a_run_reads_back_as_written(engine: Engine, new_id: NewId, now: datetime) -> None:
    run = submitted(new_id("run"), new_id("tenant"), now)
    with transaction(engine) as conn:
        runs.put_many(conn, [run])
        assert runs.get(conn, run.run_id) == run


def test_a_put_overwrites_the_stored_state(engine: Engine, new_id: NewId, now: datetime) -> None:
    run = submitted(new_id("run"), new_id("tenant"), now)
    finished = replace(
        run,
        status=RunStatus.COMPLETED,
        updated_at=now + timedelta(seconds=3),
        finished_at=now + timedelta(seconds=3),
        steps=10,
        tool_calls=12,
        tokens=5_400,
        cost=Decimal("0.123456789"),
        last_event_id=new_id("evt"),
    )
    with transaction(engine) as conn:
        runs.put_many(conn, [run])
        runs.put_many(conn, [finished])
        assert runs.get(conn, run.run_id) == finished


def test_list_runs_shows_newest_first_and_honours_the_limit(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    tenant = new_id("tenant")
    ids = [new_id("run") for _ in range(4)]
    with transaction(engine) as conn:
        for minutes, run_id in enumerate(ids):
            runs.put_many(conn, [submitted(run_id, tenant, now + timedelta(minutes=minutes))])
        listed = runs.list_runs(conn, tenant=tenant, limit=3)
    assert [run.run_id for run in listed] == ids[::-1][:3]


def test_list_runs_filters_by_status_and_tenant(
    engine: Engine, new_id: NewId, now: datetime
) -> None:
    tenant, other_tenant = new_id("tenant"), new_id("tenant")
    waiting = replace(submitted(new_id("run"), tenant, now), status=RunStatus.WAITING_APPROVAL)
    with transaction(engine) as conn:
        runs.put_many(conn, [waiting])
        runs.put_many(conn, [submitted(new_id("run"), tenant, now)])
        runs.put_many(conn, [replace(waiting, run_id=new_id("run"), tenant=other_tenant)])

        found = runs.list_runs(conn, status=RunStatus.WAITING_APPROVAL, tenant=tenant)
        recent_waiting = runs.list_runs(conn, status=RunStatus.WAITING_APPROVAL, limit=1_000)

    assert found == [waiting]
    assert waiting in recent_waiting
    assert all(run.status is RunStatus.WAITING_APPROVAL for run in recent_waiting)


def test_get_many_returns_the_known_runs_only(engine: Engine, new_id: NewId, now: datetime) -> None:
    first, second = (submitted(new_id("run"), new_id("tenant"), now) for _ in range(2))
    with transaction(engine) as conn:
        runs.put_many(conn, [first, second])
        found = runs.get_many(conn, [first.run_id, second.run_id, new_id("run")])
    assert found == {first.run_id: first, second.run_id: second}
