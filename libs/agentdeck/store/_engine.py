"""Engine factory for the two supported backends."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from agentdeck.store.errors import StoreConfigError, StoreUnavailableError

__all__ = ["READ_ONLY_OPTION", "create_store_engine"]

SQLITE_FILE_NAME = "agentdeck.db"
READ_ONLY_OPTION = "agentdeck_read_only"
"""Execution option: the next transaction only reads (SQLite then skips the write lock)."""

_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}


def create_store_engine(
    url: str,
    *,
    data_dir: str = ".agentdeck",
    sqlite_busy_timeout_ms: int = 5_000,
    pool_size: int = 5,
) -> Engine:
    """Build an engine for SQLite (embedded) or PostgreSQL (production).

    Creating the engine opens no connection.

    Args:
        url: SQLAlchemy URL. Empty means the embedded SQLite file
            ``<data_dir>/agentdeck.db``. ``postgresql://`` and ``postgres://``
            use the psycopg 3 driver.
        data_dir: Directory of the embedded database; created when missing.
        sqlite_busy_timeout_ms: How long a SQLite writer waits for the write lock.
        pool_size: Connections kept open per engine.

    Returns:
        An engine whose SQLite connections run in WAL mode with foreign keys on,
        and whose SQLite transactions take the write lock when they begin, so
        writers queue instead of failing halfway.

    Raises:
        StoreConfigError: The URL is malformed, in-memory, or not SQLite/PostgreSQL.
    """
    parsed = _parse(url, data_dir)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, sqlite_busy_timeout_ms, pool_size)
    return _postgres_engine(parsed, pool_size)


def _parse(url: str, data_dir: str) -> URL:
    if not url:
        return URL.create("sqlite", database=str(Path(data_dir) / SQLITE_FILE_NAME))
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreConfigError(f"malformed database URL: {err}") from err
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        if parsed.database in {None, "", ":memory:"}:
            raise StoreConfigError("the store needs a SQLite file, not an in-memory database")
        return parsed
    raise StoreConfigError(f"unsupported database {parsed.drivername!r}: use SQLite or PostgreSQL")


def _sqlite_engine(url: URL, busy_timeout_ms: int, pool_size: int) -> Engine:
    Path(url.database or SQLITE_FILE_NAME).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        # A multi-row INSERT of a whole batch is bounded by the 32,766 parameters only.
        insertmanyvalues_page_size=10_000,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not issue BEGIN by itself; `_on_begin` does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor, busy_timeout_ms / 1000)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the
        # write lock (SQLITE_BUSY at once); taking it up front makes writers queue.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _enable_wal(cursor: Any, timeout_s: float) -> None:
    # WAL is a property of the file, so this only changes anything on a new file.
    # That change needs an exclusive lock and ignores busy_timeout: retry it.
    deadline = time.monotonic() + timeout_s
    while _journal_mode(cursor, "PRAGMA journal_mode") != "wal":
        if _journal_mode(cursor, "PRAGMA journal_mode=WAL") == "wal":
            return
        if time.monotonic() > deadline:
            raise StoreUnavailableError(
                "SQLite database stayed locked while switching it to WAL mode",
                capability="store",
                code="database_unavailable",
            )
        time.sleep(0.01)


def _journal_mode(cursor: Any, pragma: str) -> str | None:
    try:
        return str(cursor.execute(pragma).fetchone()[0]).lower()
    except sqlite3.OperationalError:  # locked by a connection creating the file
        return None


def _postgres_engine(url: URL, pool_size: int) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 5
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        # No ping before each checkout (one more round trip per transaction): a
        # connection that died fails its transaction as StoreUnavailableError, which
        # is retryable, and the disconnect invalidates the pool so the retry reconnects.
        pool_pre_ping=False,
        pool_recycle=1_800,
        connect_args=connect_args,
    )
