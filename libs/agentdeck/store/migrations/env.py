"""Alembic environment: migrates the connection handed over by ``migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from agentdeck.store._migrate import MIGRATION_LOCK, VERSION_TABLE
from agentdeck.store._models import Base
from agentdeck.store.errors import StoreConfigError


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until the caller's transaction ends; a second migrator then finds head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or _connection is None:
    raise StoreConfigError("run store migrations through agentdeck.store.migrate(engine)")
_run(_connection)
