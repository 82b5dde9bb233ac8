"""Small helpers for statements whose SQL differs between the backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from agentdeck.store._models import Base

if TYPE_CHECKING:
    from sqlalchemy import Select

    AnySelect: TypeAlias = Select[*tuple[Any, ...]]

__all__ = ["MAX_BIND_PARAMS", "AnySelect", "chunked", "insert_for", "is_postgres"]

# Below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters per statement.
MAX_BIND_PARAMS = 30_000

T = TypeVar("T")


def is_postgres(conn: Connection) -> bool:
    """Whether ``conn`` talks to PostgreSQL (otherwise it is SQLite)."""
    return conn.dialect.name == "postgresql"


def insert_for(conn: Connection, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for ``model`` that supports ``ON CONFLICT`` on ``conn``'s backend.

    Its result's ``rowcount`` is the number of rows inserted (or updated by
    ``DO UPDATE``); SQLAlchemy keeps the driver's count for INSERTs only on request.
    """
    stmt = postgresql.insert(model) if is_postgres(conn) else sqlite.insert(model)
    return stmt.execution_options(preserve_rowcount=True)


def chunked(items: Sequence[T], columns: int) -> Iterator[Sequence[T]]:
    """Split ``items`` so that a multi-row VALUES of ``columns`` fits in one statement."""
    size = max(1, MAX_BIND_PARAMS // columns)
    for start in range(0, len(items), size):
        yield items[start : start + size]
