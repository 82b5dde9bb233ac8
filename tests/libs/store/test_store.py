"""The Store bundle: one engine, the plumbing's repositories, one transaction."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agentdeck.store import PayloadRef, Store, current_revision, head_revision


def test_open_migrates_the_embedded_database(tmp_path: Path) -> None:
    with Store.open("", data_dir=str(tmp_path)) as store:
        assert current_revision(store.engine) == head_revision()


def test_processed_ids_commit_with_the_state_they_changed(tmp_path: Path) -> None:
    data = f"state {uuid.uuid4()}".encode()
    ref = PayloadRef.of(data)
    with Store.open("", data_dir=str(tmp_path)) as store:

        def handle_then_crash() -> None:
            with store.transaction() as conn:
                store.payloads.put(conn, data)
                store.processed.mark(conn, "planner", ["evt-1"])
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError, match="crash"):
            handle_then_crash()
        with store.transaction(read_only=True) as conn:
            assert store.payloads.fetch(conn, [ref.digest]) == {}
            assert store.processed.filter_new(conn, "planner", ["evt-1"]) == {"evt-1"}

        with store.transaction() as conn:
            store.payloads.put(conn, data)
            store.processed.mark(conn, "planner", ["evt-1"])
        with store.transaction(read_only=True) as conn:
            assert store.payloads.get(conn, ref) == data
            assert store.processed.filter_new(conn, "planner", ["evt-1"]) == set()
