"""Migrations: idempotent, concurrent-safe, and in step with the models, on every backend."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.store import current_revision, head_revision, migrate
from agentdeck.store._migrate import PLUMBING, _config
from agentdeck.store.sql import Schema

if TYPE_CHECKING:
    from .conftest import Databases

SCHEMAS = pytest.mark.parametrize("schema", [PLUMBING, *SERVICE_SCHEMAS], ids=lambda s: s.name)


def tables_of(schema: Schema) -> set[str]:
    return set(schema.metadata.tables)


def test_a_new_database_has_no_revision(databases: Databases) -> None:
    assert current_revision(databases.new_engine()) is None


@SCHEMAS
def test_migrating_twice_leaves_the_schema_at_head(databases: Databases, schema: Schema) -> None:
    engine = databases.new_engine()
    migrate(engine, schema)
    migrate(engine, schema)
    assert current_revision(engine, schema) == head_revision(schema)
    assert set(inspect(engine).get_table_names()) >= tables_of(schema)


@SCHEMAS
def test_the_models_match_what_the_migrations_create(databases: Databases, schema: Schema) -> None:
    engine = databases.new_engine()
    migrate(engine, schema)
    owned = tables_of(schema)

    def its_own(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name in owned  # the others' tables are not its business

    with engine.connect() as conn:
        opts = {"version_table": schema.version_table, "include_object": its_own}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, schema.metadata) == []


def test_the_plumbing_makes_no_service_table(databases: Databases) -> None:
    engine = databases.new_engine()
    migrate(engine)
    owned = set().union(*(tables_of(s) for s in SERVICE_SCHEMAS))
    assert not owned & set(inspect(engine).get_table_names())


# Tables the store's first revision made before their services owned them.
ADOPTED = [
    s
    for s in SERVICE_SCHEMAS
    if s.name in {"policy-checker", "tool-executor", "approval", "telemetry"}
]


@pytest.mark.parametrize("schema", ADOPTED, ids=lambda s: s.name)
def test_a_service_adopts_its_tables_made_before_it_owned_them(
    databases: Databases, schema: Schema
) -> None:
    engine = databases.new_engine()
    migrate(engine)
    first = ScriptDirectory.from_config(_config(None, schema)).get_base()
    with engine.begin() as conn:  # the tables as the store's first revision made them
        command.upgrade(_config(conn, schema), first)
        conn.execute(text(f"DROP TABLE {schema.version_table}"))
    migrate(engine, schema)
    assert current_revision(engine, schema) == head_revision(schema)
    assert set(inspect(engine).get_table_names()) >= tables_of(schema)


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


@SCHEMAS
def test_downgrading_to_base_removes_every_table_and_upgrading_restores_them(
    databases: Databases, schema: Schema
) -> None:
    engine = databases.new_engine()
    migrate(engine, schema)
    with engine.begin() as conn:
        command.downgrade(_config(conn, schema), "base")
    assert current_revision(engine, schema) is None
    assert not tables_of(schema) & set(inspect(engine).get_table_names())
    migrate(engine, schema)
    assert current_revision(engine, schema) == head_revision(schema)
