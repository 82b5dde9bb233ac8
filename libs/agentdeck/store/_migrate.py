"""Schema migrations, run from code: no ``alembic.ini`` needed."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from agentdeck.store._tx import translate_errors

__all__ = ["MIGRATION_LOCK", "VERSION_TABLE", "current_revision", "head_revision", "migrate"]

SCRIPT_LOCATION = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "store_schema_version"
MIGRATION_LOCK = 0x6D696772_61746531
"""Key of the PostgreSQL advisory lock that serialises concurrent migrators."""

# Alembic's `context` proxy is process-global, so threads must take turns; other
# processes are held off by the database (see `migrate`).
_IN_PROCESS = threading.Lock()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the latest by default).

    Safe to call at every start-up: an up-to-date database is left untouched,
    and processes migrating at the same moment wait for each other (an advisory
    lock on PostgreSQL, the write lock on SQLite). All steps run in one
    transaction on both backends.

    Raises:
        StoreUnavailableError: The database could not be reached.
    """
    with _IN_PROCESS, translate_errors(), engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with translate_errors(), engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    """The latest revision shipped with this code."""
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {SCRIPT_LOCATION}")
    return head


def _config(conn: Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = conn
    return config
