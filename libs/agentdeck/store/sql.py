"""What a service needs to keep its own tables in the store.

A service declares its tables on :func:`new_metadata`, ships Alembic scripts
for them as a :class:`Schema`, and writes its repositories with the same
helpers and column types as the plumbing::

    class Tables(DeclarativeBase):
        metadata = new_metadata()

    SCHEMA = Schema("policy-checker", Tables.metadata, Path(...) / "migrations",
                    "policy_checker_schema_version")
"""

from agentdeck.store._dialect import (
    AnyInsert,
    AnySelect,
    InsertFactory,
    bulk_insert_ignore,
    bulk_insert_new,
    chunked,
    is_postgres,
    per_dialect,
    table_of,
)
from agentdeck.store._migrate import Schema, new_metadata, one_of, run_migrations
from agentdeck.store._types import MONEY_SCALE, Money, UtcDateTime, quantize_money

__all__ = [
    "MONEY_SCALE",
    "AnyInsert",
    "AnySelect",
    "InsertFactory",
    "Money",
    "Schema",
    "UtcDateTime",
    "bulk_insert_ignore",
    "bulk_insert_new",
    "chunked",
    "is_postgres",
    "new_metadata",
    "one_of",
    "per_dialect",
    "quantize_money",
    "run_migrations",
    "table_of",
]
