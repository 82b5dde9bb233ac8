"""Alembic environment of the store's plumbing tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store._migrate import run_migrations

run_migrations()
