"""Transactions and the translation of driver errors into store errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from agentdeck.store._engine import READ_ONLY_OPTION
from agentdeck.store.errors import StoreIntegrityError, StoreSchemaError, StoreUnavailableError

__all__ = ["transaction", "translate_errors"]

_CAPABILITY = "store"
# SQLSTATEs of a missing table or column: the schema is older than the code.
_SCHEMA_SQLSTATES = {"42P01", "42703"}
_SQLITE_SCHEMA_MESSAGES = ("no such table", "no such column")


@contextmanager
def transaction(
    engine: Engine, *, read_only: bool = False, snapshot: bool = False
) -> Iterator[Connection]:
    """Run the block in one database transaction.

    The transaction commits when the block returns and rolls back when it
    raises. Driver errors raised anywhere in the block, or by the commit, are
    translated as :func:`translate_errors` describes.

    Args:
        engine: An engine from :func:`create_store_engine`.
        read_only: The block only reads. On SQLite the transaction then does not
            take the write lock, so a long read never holds writers up; on
            PostgreSQL it is a ``READ ONLY`` transaction.
        snapshot: Every read in the block sees one state of the database, whatever
            commits meanwhile: ``REPEATABLE READ`` on PostgreSQL (whose default gives
            each statement its own); a SQLite transaction always does.

    Yields:
        The connection to pass to repository methods.
    """
    with translate_errors(), engine.connect() as conn:
        if read_only:
            conn.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
        if snapshot and conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy driver errors as :mod:`agentdeck.store.errors`.

    * missing table or column -> :class:`StoreSchemaError`
    * constraint or trigger violation -> :class:`StoreIntegrityError`
    * unreachable, busy, timed out, dropped connection, serialization failure
      or deadlock -> :class:`StoreUnavailableError` (retryable)

    Anything else (a programming error) propagates unchanged.
    """
    try:
        yield
    except sa_exc.DBAPIError as err:
        translated = _translate(err)
        if translated is None:
            raise
        raise translated from err
    except sa_exc.TimeoutError as err:
        raise StoreUnavailableError(
            f"no database connection free: {err}",
            capability=_CAPABILITY,
            code="pool_exhausted",
            remediation=("retry later", "raise the pool size"),
        ) from err


def _translate(err: sa_exc.DBAPIError) -> Exception | None:
    message = str(err.orig)
    if _is_schema_error(err, message):
        return StoreSchemaError(f"database schema out of date: {message}")
    if isinstance(err, sa_exc.IntegrityError):
        return StoreIntegrityError(
            message,
            capability=_CAPABILITY,
            code="constraint_violation",
            remediation=("fix the input; retrying the same write cannot succeed",),
        )
    if isinstance(err, sa_exc.OperationalError | sa_exc.InterfaceError) or (
        err.connection_invalidated
    ):
        return StoreUnavailableError(
            message,
            capability=_CAPABILITY,
            code="database_unavailable",
            remediation=("retry with backoff", "check that the database is up and reachable"),
        )
    return None


def _is_schema_error(err: sa_exc.DBAPIError, message: str) -> bool:
    if getattr(err.orig, "sqlstate", None) in _SCHEMA_SQLSTATES:
        return True
    return isinstance(err, sa_exc.OperationalError) and message.startswith(_SQLITE_SCHEMA_MESSAGES)
