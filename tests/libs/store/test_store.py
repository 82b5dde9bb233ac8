"""The Store bundle: one engine, every repository, one transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agentdeck.store import RunRecord, RunStatus, Store, current_revision, head_revision


def test_open_migrates_the_embedded_database(tmp_path: Path) -> None:
    with Store.open("", data_dir=str(tmp_path)) as store:
        assert current_revision(store.engine) == head_revision()


def test_processed_ids_commit_with_the_state_they_changed(tmp_path: Path, now: datetime) -> None:
    run = RunRecord(
        run_id="run-1",
        tenant="acme",
        agent="refunds",
        status=RunStatus.RUNNING,
        goal="Refund order 42",
        started_at=now,
        updated_at=now,
        cost=Decimal("0.5"),
    )
    with Store.open("", data_dir=str(tmp_path)) as store:

        def handle_then_crash() -> None:
            with store.transaction() as conn:
                store.runs.upsert(conn, run)
                store.processed.mark(conn, "planner", ["evt-1"])
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError, match="crash"):
            handle_then_crash()
        with store.transaction(read_only=True) as conn:
            assert store.runs.get(conn, "run-1") is None
            assert store.processed.filter_new(conn, "planner", ["evt-1"]) == {"evt-1"}

        with store.transaction() as conn:
            store.runs.upsert(conn, run)
            store.processed.mark(conn, "planner", ["evt-1"])
        with store.transaction(read_only=True) as conn:
            assert store.runs.get(conn, "run-1") == run
            assert store.processed.filter_new(conn, "planner", ["evt-1"]) == set()
