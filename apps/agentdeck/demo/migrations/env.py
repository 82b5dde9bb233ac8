"""Alembic environment of the demo desk's tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store.sql import run_migrations

run_migrations()
