"""The engine factory and the translation of driver errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text

from agentdeck.errors import ConfigError, RetryableError, TerminalError
from agentdeck.store import (
    ProcessedEventsRepository,
    StoreConfigError,
    StoreSchemaError,
    StoreUnavailableError,
    create_store_engine,
    migrate,
    transaction,
)
from testkit.sql import PG_ADMIN_URL

if TYPE_CHECKING:
    from .conftest import Databases


def test_an_empty_url_means_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    engine = create_store_engine("", data_dir=str(data_dir))
    try:
        with transaction(engine) as conn:
            pragmas = [
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        engine.dispose()
    assert (data_dir / "agentdeck.db").is_file()
    assert pragmas == ["wal", 1, 5000]


@pytest.mark.parametrize(
    "url", ["postgresql://u@db.internal/agentdeck", "postgres://u@db.internal/agentdeck"]
)
def test_postgresql_urls_use_the_psycopg_3_driver(url: str) -> None:
    engine = create_store_engine(url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.database == "agentdeck"
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "not a url"])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(StoreConfigError) as raised:
        create_store_engine(url)
    assert isinstance(raised.value, ConfigError)


def test_an_unreachable_database_is_a_retryable_error() -> None:
    engine = create_store_engine("postgresql://postgres@127.0.0.1:1/agentdeck")
    try:
        with pytest.raises(StoreUnavailableError) as raised, transaction(engine):
            pass
    finally:
        engine.dispose()
    assert isinstance(raised.value, RetryableError)
    assert raised.value.retryable
    assert raised.value.code == "database_unavailable"


def test_a_sqlite_writer_waiting_too_long_for_the_lock_gets_a_retryable_error(
    tmp_path: Path,
) -> None:
    holder = create_store_engine("", data_dir=str(tmp_path))
    waiter = create_store_engine("", data_dir=str(tmp_path), sqlite_busy_timeout_ms=50)
    try:
        # The holder's BEGIN IMMEDIATE takes the write lock; the waiter's cannot.
        with (
            transaction(holder),
            pytest.raises(StoreUnavailableError, match="locked"),
            transaction(waiter),
        ):
            pass
    finally:
        holder.dispose()
        waiter.dispose()


def test_a_sqlite_read_only_transaction_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    writer = create_store_engine("", data_dir=str(tmp_path))
    reader = create_store_engine("", data_dir=str(tmp_path), sqlite_busy_timeout_ms=50)
    migrate(writer)
    try:
        with transaction(writer), transaction(reader, read_only=True) as conn:
            events = conn.execute(text("SELECT count(*) FROM event_archive")).scalar_one()
    finally:
        writer.dispose()
        reader.dispose()
    assert events == 0


def test_using_an_unmigrated_database_is_a_schema_error(databases: Databases) -> None:
    engine: Engine = databases.new_engine()
    with pytest.raises(StoreSchemaError) as raised, transaction(engine) as conn:
        ProcessedEventsRepository().filter_new(conn, "planner", ["evt-1"])
    assert isinstance(raised.value, ConfigError)
    assert not isinstance(raised.value, RetryableError | TerminalError)


def test_a_dropped_postgresql_connection_fails_one_transaction_retryably_then_reconnects(
    pg_admin: Engine,
) -> None:
    engine = create_store_engine(PG_ADMIN_URL)
    try:
        with transaction(engine, read_only=True) as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pg_admin.connect() as admin:  # the server drops the pooled connection
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(StoreUnavailableError) as raised, transaction(engine) as conn:
            conn.execute(text("SELECT 1"))
        with transaction(engine, read_only=True) as conn:
            again = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()
    assert raised.value.retryable
    assert again != pid


def test_a_snapshot_transaction_reads_one_state_whatever_commits_meanwhile(
    databases: Databases,
) -> None:
    engine: Engine = databases.new_engine()
    migrate(engine)
    count = text("SELECT count(*) FROM processed_events")

    def commit_one(event_id: str) -> None:
        with transaction(engine) as other:
            ProcessedEventsRepository().mark(other, "planner", [event_id])

    with transaction(engine, read_only=True, snapshot=True) as conn:
        before = conn.execute(count).scalar_one()
        commit_one("evt-1")
        again = conn.execute(count).scalar_one()
    with transaction(engine, read_only=True) as conn:  # a plain one sees each commit
        first = conn.execute(count).scalar_one()
        commit_one("evt-2")
        second = conn.execute(count).scalar_one()

    assert (before, again) == (0, 0)
    if databases.backend == "postgresql":  # the pooled connection is back to its default
        assert (first, second) == (1, 2)
