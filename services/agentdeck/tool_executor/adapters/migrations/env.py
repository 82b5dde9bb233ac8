"""Alembic environment of the tool-executor's tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store.sql import run_migrations

run_migrations()
