"""Alembic environment of the policy-checker's tables (see ``agentdeck.store.migrate``)."""

from agentdeck.store.sql import run_migrations

run_migrations()
