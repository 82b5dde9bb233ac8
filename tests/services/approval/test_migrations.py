"""Migration a0002: the cases and outbox kept in ``service_state`` move to the service's tables."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection

from agentdeck.approval.adapters.case_rows import OutboxRepository
from agentdeck.approval.adapters.cases import CaseStore, StoredCase
from agentdeck.approval.adapters.requests import ApprovalRequest, ApprovalsRepository
from agentdeck.approval.adapters.tables import SCHEMA
from agentdeck.approval.core import Approver, Case, Closed, Verdict, cast, open_case, outcome_event
from agentdeck.contracts import Codec
from agentdeck.signing import Signer
from agentdeck.store import Store, migrate
from agentdeck.store._migrate import _config
from agentdeck.store.sql import UtcDateTime
from testkit.kafka import NOW, TEST_PRODUCER
from testkit.privacy import opening
from testkit.sql import BACKENDS, Databases, databases_for

from .conftest import MakeDecision

BEFORE = "a0001"
"""The approval schema's revision before its cases left ``service_state``."""

SERVICE_STATE = sa.table(
    "service_state",
    sa.column("service", sa.String()),
    sa.column("key", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("state", sa.Text()),
    sa.column("updated_at", UtcDateTime()),
)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, unmigrated databases of one backend, removed after the test."""
    created = databases_for(request, tmp_path)
    yield created
    created.close()


def _request(conn: Connection, case: Case) -> None:
    env = case.request.envelope
    ApprovalsRepository().create(
        conn,
        ApprovalRequest(
            approval_id=case.approval_id,
            run_id=env.run_id or "",
            step_id=env.step_id or "",
            tool=case.request.tool,
            payload_hash=case.request.payload_hash,
            requested_by=case.request.requested_by,
            risk_band=case.request.risk_band,
            deadline=case.next_timer,
            created_at=NOW,
        ),
    )


def _state(service: str, key: str, version: int, state: str, at: datetime) -> dict[str, object]:
    return {"service": service, "key": key, "version": version, "state": state, "updated_at": at}


def test_the_cases_and_outbox_in_service_state_move_to_the_services_tables(
    databases: Databases,
    codec: Codec,
    make_decision: MakeDecision,
    rules: object,
    signer: Signer,
) -> None:
    engine = databases.new_engine()
    migrate(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn, SCHEMA), BEFORE)
    store = Store(engine)
    sealing = opening(codec, store)
    cases = CaseStore(store, sealing)
    pending = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)  # type: ignore[arg-type]
    opened = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)  # type: ignore[arg-type]
    later = NOW + timedelta(minutes=1)
    closed = cast(opened, Approver(name="alice", role="support-lead"), Verdict.APPROVE, "ok", later)
    assert isinstance(closed, Closed)
    granted = outcome_event(closed.case, signer, TEST_PRODUCER)
    sealed = cases.sealed([pending, closed.case])
    event = base64.b64encode(sealing.encode(granted)).decode()
    with engine.begin() as conn:  # as the service wrote them before a0002
        _request(conn, pending)
        _request(conn, opened)
        conn.execute(
            sa.insert(SERVICE_STATE),
            [
                _state(
                    "approval", f"case:{pending.approval_id}", 1, sealed[pending.approval_id], NOW
                ),
                _state(
                    "approval", f"case:{opened.approval_id}", 2, sealed[opened.approval_id], later
                ),
                _state(
                    "approval",
                    f"outbox:{granted.envelope.event_id}",
                    1,
                    json.dumps({"event": event}),
                    later,
                ),
                _state("planner", f"case:{pending.approval_id}", 1, "{}", NOW),
            ],
        )

    migrate(engine, SCHEMA)

    assert cases.load(pending.approval_id) == StoredCase(pending, 1)
    assert cases.load(opened.approval_id) == StoredCase(closed.case, 2)
    assert cases.outbox() == [granted]
    with engine.connect() as conn:
        [waiting] = OutboxRepository().oldest(conn)
        left = conn.execute(sa.select(SERVICE_STATE.c.service, SERVICE_STATE.c.key)).all()
    assert (waiting.approval_id, waiting.created_at) == (opened.approval_id, later)
    assert left == [("planner", f"case:{pending.approval_id}")]
