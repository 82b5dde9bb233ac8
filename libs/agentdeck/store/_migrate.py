"""Schema migrations, run from code: no ``alembic.ini`` needed.

Each owner of tables migrates them with its own Alembic scripts and its own
version table (a :class:`Schema`): the store's plumbing here, each service's
domain tables in the service. Every ``env.py`` is two lines that call
:func:`run_migrations`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, Engine, MetaData, text

from agentdeck.store._models import NAMING_CONVENTION, Base
from agentdeck.store._tx import translate_errors
from agentdeck.store.errors import StoreConfigError

__all__ = [
    "MIGRATION_LOCK",
    "PLUMBING",
    "Schema",
    "current_revision",
    "head_revision",
    "migrate",
    "new_metadata",
    "one_of",
    "run_migrations",
]

MIGRATION_LOCK = 0x6D696772_61746531
"""Key of the PostgreSQL advisory lock that serialises concurrent migrators."""

# Alembic's `context` proxy is process-global, so threads must take turns; other
# processes are held off by the database (see `migrate`).
_IN_PROCESS = threading.Lock()


@dataclass(frozen=True)
class Schema:
    """The tables one owner migrates.

    Attributes:
        name: Who owns them (``store`` for the plumbing, else the service).
        metadata: Their definitions; a test keeps them and the scripts in step.
        scripts: The Alembic directory (``env.py`` and ``versions/``).
        version_table: Where the owner's revision is kept.
    """

    name: str
    metadata: MetaData
    scripts: Path
    version_table: str


PLUMBING = Schema(
    "store",
    Base.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "store_schema_version",
)
"""The archive, processed ids, payloads and subject keys: what every service shares."""


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK, named after ``column``, that it holds one of ``values`` (a StrEnum's members)."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def new_metadata() -> MetaData:
    """Metadata for a service's own tables, named like the store's."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def migrate(engine: Engine, *schemas: Schema) -> None:
    """Bring the plumbing and then each of ``schemas`` up to its latest revision.

    Safe to call at every start-up: an up-to-date database is left untouched,
    and processes migrating at the same moment wait for each other (an advisory
    lock on PostgreSQL, the write lock on SQLite). All steps run in one
    transaction on both backends.

    Raises:
        StoreUnavailableError: The database could not be reached.
    """
    with _IN_PROCESS, translate_errors(), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until the transaction ends; a second migrator then finds head.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        for schema in _with_plumbing(schemas):
            command.upgrade(_config(conn, schema), "head")


def current_revision(engine: Engine, schema: Schema = PLUMBING) -> str | None:
    """The revision ``schema`` is at, or None if it was never migrated."""
    with translate_errors(), engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
        return ctx.get_current_revision()


def head_revision(schema: Schema = PLUMBING) -> str:
    """The latest revision of ``schema`` shipped with this code."""
    head = ScriptDirectory.from_config(_config(None, schema)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {schema.scripts}")
    return head


def run_migrations() -> None:
    """The body of every ``env.py``: migrate the connection :func:`migrate` handed over."""
    conn = context.config.attributes.get("connection")
    schema = context.config.attributes.get("schema")
    if context.is_offline_mode() or conn is None or not isinstance(schema, Schema):
        raise StoreConfigError("run store migrations through agentdeck.store.migrate(engine)")
    context.configure(
        connection=conn,
        target_metadata=schema.metadata,
        version_table=schema.version_table,
        transactional_ddl=True,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _with_plumbing(schemas: tuple[Schema, ...]) -> list[Schema]:
    unique = {s.version_table: s for s in schemas if s.version_table != PLUMBING.version_table}
    return [PLUMBING, *unique.values()]


def _config(conn: Connection | None, schema: Schema = PLUMBING) -> Config:
    config = Config()
    config.set_main_option("script_location", str(schema.scripts))
    config.attributes["connection"] = conn
    config.attributes["schema"] = schema
    return config
