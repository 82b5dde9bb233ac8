"""The executor's claims and approval slots move out of ``service_state`` on upgrade."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import column, insert, select, table

from agentdeck.store import migrate, transaction
from agentdeck.store._migrate import _config
from agentdeck.store.sql import UtcDateTime
from agentdeck.tool_executor.adapters.claims import ClaimsRepository
from agentdeck.tool_executor.adapters.slots import SlotsRepository
from agentdeck.tool_executor.adapters.tables import SCHEMA, ApprovalSlotRow, ClaimRow
from agentdeck.tool_executor.core.parking import ApprovalSlot
from agentdeck.tool_executor.core.plan import Claim
from testkit.sql import BACKENDS, Databases, databases_for

OLD = "tool-executor"
"""The service name the executor's rows had in ``service_state``."""

BAG = table(
    "service_state",
    column("service"),
    column("key"),
    column("version"),
    column("state"),
    column("updated_at", UtcDateTime()),
)
"""The shared bag as the old executor wrote it (version 1: each key was written once)."""


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    created = databases_for(request, tmp_path)
    yield created
    created.close()


def test_claims_and_slots_written_by_the_old_executor_are_moved(
    databases: Databases, now: datetime
) -> None:
    engine = databases.new_engine()
    migrate(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn, SCHEMA), "x0001")
    waiting = ApprovalSlot(approval_id="ap-1", state="waiting", decision='{"parked": 1}')
    granted = ApprovalSlot(
        approval_id="ap-2", state="granted", grant_event_id="grant-1", payload_hash="sha-1"
    )
    parked, later = (waiting, granted), now + timedelta(seconds=1)
    claim = json.dumps({"decision_id": "dec-1", "event_id": "evt-1"})
    rows = [
        (OLD, "claim:key-1", claim, now),
        *((OLD, f"approval:{s.approval_id}", s.model_dump_json(), later) for s in parked),
        ("planner", "claim:key-1", "{}", now),
    ]
    with transaction(engine) as conn:  # as the executor wrote them before x0002
        conn.execute(
            insert(BAG),
            [
                {"service": svc, "key": key, "version": 1, "state": text, "updated_at": at}
                for svc, key, text, at in rows
            ],
        )

    migrate(engine, SCHEMA)

    with transaction(engine, read_only=True) as conn:
        assert ClaimsRepository().get_many(conn, ["key-1"]) == {"key-1": Claim("dec-1", "evt-1")}
        assert SlotsRepository().get_many(conn, ["ap-1", "ap-2"]) == {
            "ap-1": waiting,
            "ap-2": granted,
        }
        assert conn.execute(select(ClaimRow.claimed_at)).scalar_one() == now
        times = set(conn.execute(select(ApprovalSlotRow.updated_at)).scalars())
        assert times == {later}
        left = conn.execute(select(BAG.c.service, BAG.c.key)).all()
    assert [tuple(r) for r in left] == [("planner", "claim:key-1")], "only others' rows stay"


def test_a_database_without_service_state_migrates_too(databases: Databases) -> None:
    engine = databases.new_engine()
    with engine.begin() as conn:  # the executor's own schema, alone
        command.upgrade(_config(conn, SCHEMA), "head")
    with transaction(engine, read_only=True) as conn:
        assert ClaimsRepository().get_many(conn, ["key-1"]) == {}
