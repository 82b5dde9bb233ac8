"""Migrations: idempotent, concurrent-safe, and in step with the models, on every backend."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from agentdeck.store import Base, current_revision, head_revision, migrate
from agentdeck.store._migrate import VERSION_TABLE, _config

if TYPE_CHECKING:
    from .conftest import Databases

TABLES = {
    "event_archive",
    "processed_events",
    "runs",
    "effect_ledger",
    "approvals",
    "budgets",
    "budget_reservations",
    "service_state",
    "payloads",
}


def test_a_new_database_has_no_revision(databases: Databases) -> None:
    assert current_revision(databases.new_engine()) is None


def test_migrating_twice_leaves_the_schema_at_head(databases: Databases) -> None:
    engine = databases.new_engine()
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_the_models_match_what_the_migrations_create(databases: Databases) -> None:
    engine = databases.new_engine()
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []


MIGRATOR = """
import sys
from agentdeck.store import create_store_engine, migrate
engine = create_store_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
migrate(engine)
engine.dispose()
"""


def test_processes_migrating_at_the_same_moment_all_end_at_head(databases: Databases) -> None:
    engine = databases.new_engine()
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()

    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0]
    for process in processes:
        assert process.stdout is not None
        process.stdout.close()
    assert current_revision(engine) == head_revision()


def test_threads_migrating_at_the_same_moment_all_end_at_head(databases: Databases) -> None:
    engine = databases.new_engine()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(migrate, [engine, databases.same_database(engine)]))
    assert current_revision(engine) == head_revision()


def test_downgrading_to_base_removes_every_table_and_upgrading_restores_them(
    databases: Databases,
) -> None:
    engine = databases.new_engine()
    migrate(engine)
    with engine.begin() as conn:
        command.downgrade(_config(conn), "base")
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert current_revision(engine) == head_revision()
