"""Alembic environment of the planner's tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store.sql import run_migrations

run_migrations()
