"""Alembic environment of the operators' tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store.sql import run_migrations

run_migrations()
