"""Redrive records kept in the shared state table move into the operators' own table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from agentdeck.cli.tables import SCHEMA, RedriveRow
from agentdeck.store import migrate
from agentdeck.store._models import ServiceStateRow


def test_redrive_records_move_out_of_the_shared_state_table(databases):
    engine = databases.new_engine()
    migrate(engine)  # the plumbing alone, as before the operators had a table
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    record = f'{{"at": "{at.isoformat()}", "by": "ops", "to": "demo.tool_calls[2]"}}'
    with engine.begin() as conn:
        conn.execute(
            insert(ServiceStateRow),
            [
                {"service": svc, "key": key, "version": 1, "state": state, "updated_at": at}
                for svc, key, state in (
                    ("dead-letters", "redriven:dl-1", record),
                    ("planner", "run-1", "{}"),
                )
            ],
        )
    migrate(engine, SCHEMA)
    with engine.connect() as conn:
        moved = conn.execute(select(RedriveRow.__table__)).all()
        left = conn.execute(select(ServiceStateRow.service)).scalars().all()
    assert [(r.dead_letter_id, r.redriven_at, r.redriven_by, r.republished_to) for r in moved] == [
        ("dl-1", at, "ops", "demo.tool_calls[2]")
    ]
    assert left == ["planner"]
