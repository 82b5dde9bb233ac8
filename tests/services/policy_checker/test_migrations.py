"""p0002: the policy-checker's rows of the shared state table move into its own tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import insert, select

from agentdeck import controls
from agentdeck.contracts.models import KillSwitchScope
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.policy_checker.adapters.tables import SCHEMA, SwitchRow
from agentdeck.store import migrate, transaction
from agentdeck.store._migrate import _config
from agentdeck.store._models import ServiceStateRow
from agentdeck.store.errors import StoreIntegrityError

from ._support import journaled

if TYPE_CHECKING:
    from testkit.sql import Databases


def test_the_rows_kept_in_the_shared_state_table_move_into_the_policy_checkers_tables(
    databases: Databases, now: datetime
) -> None:
    engine = databases.new_engine()
    migrate(engine)  # the plumbing, with service_state
    with engine.begin() as conn:  # the policy-checker as it was: budgets only
        command.upgrade(_config(conn, SCHEMA), "p0001")
    record = journaled("decision-1", now)
    parked = core.HoldRef(
        reservation_id="res-1",
        scope="tenant:acme",
        amount_micros=400_000,
        run_id="run-1",
        idempotency_key="call-1",
        approval_id="approval-1",
    )
    plain = parked.model_copy(
        update={"reservation_id": "res-2", "idempotency_key": "call-2", "approval_id": None}
    )
    plus_two = timezone(timedelta(hours=2))
    engaged_at = now.astimezone(plus_two)
    rows = {  # as the journal and the switchboard wrote them
        "decision:decision-1": record.model_dump_json(),
        "call:call-1": parked.model_dump_json(),
        "approval:approval-1": parked.model_dump_json(),
        "call:call-2": plain.model_dump_json(),
        "spend:run-1": '{"spent_micros":1234}',
        "switch:TENANT:acme": (
            '{"scope":"TENANT","target":"acme","engaged":true,"set_by":"oncall",'
            f'"reason":"incident 42","set_at":"{engaged_at.isoformat()}"}}'
        ),
        "switch:GLOBAL:*": (
            '{"scope":"GLOBAL","target":"*","engaged":false,"set_by":"lead",'
            '"reason":"over","set_at":"2026-12-01T10:00:00Z"}'
        ),
        "legacy:1": "{}",
    }
    bag = [{"service": "policy-checker", "key": k, "state": v} for k, v in rows.items()]
    bag.append({"service": "tool-executor", "key": "call:call-1", "state": "{}"})
    with engine.begin() as conn:
        conn.execute(insert(ServiceStateRow), [{**r, "version": 1, "updated_at": now} for r in bag])

    migrate(engine, SCHEMA)

    journal, switchboard = Journal(), Switchboard()
    tenant = controls.switch_key(KillSwitchScope.TENANT, "acme")
    every = controls.switch_key(KillSwitchScope.GLOBAL, "")
    with transaction(engine) as conn:
        assert journal.decisions(conn, ["decision-1"]) == {"decision-1": record}
        assert journal.refs(conn, [*parked.stored_under(), *plain.stored_under()]) == {
            core.call_key("call-1"): parked,
            core.approval_key("approval-1"): parked,
            core.call_key("call-2"): plain,
        }
        assert journal.run_spend(conn, ["run-1"]) == {"run-1": 1234}
        switches = switchboard.get_many(conn, [tenant, every])
        left = conn.execute(select(ServiceStateRow.service, ServiceStateRow.key)).all()
    assert switches == {
        tenant: controls.Switch(KillSwitchScope.TENANT, "acme", True, "oncall", "incident 42", now),
        every: controls.Switch(
            KillSwitchScope.GLOBAL,
            "*",
            False,
            "lead",
            "over",
            datetime(2026, 12, 1, 10, tzinfo=UTC),
        ),
    }
    assert switches[tenant].set_at.utcoffset() == timedelta(0), "kept in UTC"
    assert sorted(left) == [("policy-checker", "legacy:1"), ("tool-executor", "call:call-1")], (
        "only the policy-checker's rows of the kinds it knows moved"
    )


def test_p0003_lets_a_switch_name_a_run_and_keeps_the_switches_set_before(
    databases: Databases, now: datetime
) -> None:
    engine = databases.new_engine()
    migrate(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn, SCHEMA), "p0002")
    switchboard = Switchboard()
    tenant = controls.Switch(KillSwitchScope.TENANT, "acme", True, "oncall", "incident 42", now)
    run = controls.Switch(KillSwitchScope.RUN, "run-1", True, "oncall", "wrong order", now)
    with transaction(engine) as conn:
        switchboard.save(conn, [tenant], now=now)
    with pytest.raises(StoreIntegrityError), transaction(engine) as conn:
        switchboard.save(conn, [run], now=now)  # p0002 knows no RUN scope

    migrate(engine, SCHEMA)

    with transaction(engine) as conn:
        switchboard.save(conn, [run], now=now)
        assert switchboard.covering_any(conn, ["run-1"]) == [tenant, run]
        assert switchboard.covering_any(conn, ["run-2"]) == [tenant]
    with pytest.raises(StoreIntegrityError), transaction(engine) as conn:
        conn.execute(
            insert(SwitchRow),
            [{**vars(tenant), "scope": "TEAM", "target": "x", "updated_at": now}],
        )
