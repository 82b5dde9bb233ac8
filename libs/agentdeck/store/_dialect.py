"""Helpers for statements whose SQL differs between the backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from sqlalchemy import Select

AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"

__all__ = [
    "AnyInsert",
    "AnySelect",
    "InsertFactory",
    "bulk_insert_ignore",
    "bulk_insert_new",
    "chunked",
    "is_postgres",
    "per_dialect",
    "table_of",
]

# Below SQLite's 32,766 bound parameters per statement.
MAX_BIND_PARAMS = 30_000

T = TypeVar("T")
S = TypeVar("S")
AnyInsert: TypeAlias = postgresql.Insert | sqlite.Insert
InsertFactory: TypeAlias = Callable[[Table], AnyInsert]


def is_postgres(conn: Connection) -> bool:
    """Whether ``conn`` talks to PostgreSQL (otherwise it is SQLite)."""
    return conn.dialect.name == "postgresql"


def table_of(model: type[DeclarativeBase]) -> Table:
    """The Core table of ``model`` (statements on it skip the ORM layer)."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - declarative models always map a Table
    return table


def per_dialect(build: Callable[[InsertFactory], S]) -> Callable[[Connection], S]:
    """Build a statement once per backend, from an INSERT factory with ``ON CONFLICT``.

    Statements built once (with ``bindparam`` placeholders, values passed at
    execution) skip SQLAlchemy's per-call construction and cache-key work.
    Inserts keep the driver's ``rowcount`` (rows inserted, or updated by ``DO UPDATE``).
    """

    @cache
    def for_backend(name: str) -> S:
        return build(_pg_insert if name == "postgresql" else _sqlite_insert)

    return lambda conn: for_backend(conn.dialect.name)


def _pg_insert(table: Table) -> postgresql.Insert:
    return postgresql.insert(table).execution_options(preserve_rowcount=True)


def _sqlite_insert(table: Table) -> sqlite.Insert:
    return sqlite.insert(table).execution_options(preserve_rowcount=True)


def bulk_insert_ignore(
    conn: Connection,
    model: type[DeclarativeBase],
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Insert ``rows`` in one statement, skipping rows that conflict with a key.

    PostgreSQL: ``INSERT ... SELECT ... FROM unnest(<one array per column>) ON
    CONFLICT DO NOTHING``; the arrays travel in binary format, and the statement
    text is the same for every batch, so the server reuses its plan. SQLite: a
    multi-row ``INSERT ... ON CONFLICT DO NOTHING ... RETURNING`` (split only past
    the bound-parameter limit).

    Returns:
        How many rows were inserted.
    """
    if not rows:
        return 0
    if is_postgres(conn):
        table = table_of(model)
        arrays = {name: _pg_array(conn, table.c[name].type, rows, name) for name in columns}
        options = {"preserve_rowcount": True}
        result = conn.exec_driver_sql(_unnest_insert(model, tuple(columns)), arrays, options)
        return result.rowcount
    stmt = _returning_insert(model)
    return len(conn.execute(stmt, [dict(row) for row in rows]).all())


def bulk_insert_new(
    conn: Connection,
    model: type[DeclarativeBase],
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    key: str,
) -> list[Any]:
    """:func:`bulk_insert_ignore`, returning the ``key`` of each row actually inserted."""
    if not rows:
        return []
    if is_postgres(conn):
        table = table_of(model)
        arrays = {name: _pg_array(conn, table.c[name].type, rows, name) for name in columns}
        sql = f"{_unnest_insert(model, tuple(columns))} RETURNING {_quoted(key)}"
        return list(conn.exec_driver_sql(sql, arrays).scalars())
    stmt = _returning_key_insert(model, key)
    return list(conn.execute(stmt, [dict(row) for row in rows]).scalars())


def _quoted(name: str) -> str:
    return str(PGDialect().identifier_preparer.quote(name))  # type: ignore[no-untyped-call]


def _pg_array(
    conn: Connection, column_type: TypeEngine[Any], rows: Sequence[Mapping[str, Any]], name: str
) -> list[Any]:
    # The driver-level statement bypasses SQLAlchemy's type processing: apply it here.
    values = [row[name] for row in rows]
    if isinstance(column_type, TypeDecorator):
        values = [column_type.process_bind_param(value, conn.dialect) for value in values]
    if _is_json(column_type):
        values = [None if value is None else json.dumps(value) for value in values]
    return values


def _is_json(column_type: TypeEngine[Any]) -> bool:
    if isinstance(column_type, TypeDecorator):
        return isinstance(column_type.impl_instance, JSON)
    return isinstance(column_type, JSON)


@cache
def _unnest_insert(model: type[DeclarativeBase], columns: tuple[str, ...]) -> str:
    table = table_of(model)
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    arrays, selected = [], []
    for name in columns:
        column_type = table.c[name].type
        is_json = _is_json(column_type)
        element = "TEXT" if is_json else column_type.compile(dialect=dialect)
        arrays.append(f"%({name})b::{element}[]")
        selected.append(f"{quote(name)}::JSON" if is_json else quote(name))
    return (
        f"INSERT INTO {quote(table.name)} ({names}) "  # noqa: S608 - names come from our metadata
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({names}) "
        "ON CONFLICT DO NOTHING"
    )


@cache
def _returning_insert(model: type[DeclarativeBase]) -> ReturningInsert[Any]:
    table = table_of(model)
    return sqlite.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


@cache
def _returning_key_insert(model: type[DeclarativeBase], key: str) -> ReturningInsert[Any]:
    table = table_of(model)
    return sqlite.insert(table).on_conflict_do_nothing().returning(table.c[key])


def chunked(items: Sequence[T], columns: int) -> Iterator[Sequence[T]]:
    """Split ``items`` so that ``columns`` parameters per item fit in one SQLite statement."""
    size = max(1, MAX_BIND_PARAMS // columns)
    for start in range(0, len(items), size):
        yield items[start : start + size]
