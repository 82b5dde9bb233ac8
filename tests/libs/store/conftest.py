"""Fixtures that run the store contract against SQLite and PostgreSQL.

PostgreSQL is real (127.0.0.1:5432, user ``postgres``, trust auth). Each session
creates its own database and drops it at the end. When the server is down the
PostgreSQL tests error out with the command that starts it; they never skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentdeck.store import create_store_engine, migrate

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.integration))

NewId = Callable[[str], str]


@pytest.fixture
def new_id() -> NewId:
    """Make ids no other test uses: ``new_id("run")`` -> ``run-<hex>``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def now() -> datetime:
    """The current time, timezone-aware, truncated to whole milliseconds."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit engine on the ``postgres`` database, for creating and dropping databases."""
    base = create_store_engine(PG_ADMIN_URL)
    admin = base.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here means "server not usable"
        base.dispose()
        pytest.fail(f"PostgreSQL unreachable at {PG_ADMIN_URL} ({exc}); start it: {START_POSTGRES}")
    yield admin
    base.dispose()


class Databases:
    """Creates throwaway databases of one backend and removes them afterwards."""

    def __init__(self, backend: str, root: Path, admin: Engine | None) -> None:
        self.backend = backend
        self._root = root
        self._admin = admin
        self._engines: list[Engine] = []
        self._pg_names: list[str] = []

    def new_engine(self) -> Engine:
        """An engine on a new, empty database (not migrated)."""
        if self._admin is None:
            data_dir = self._root / uuid.uuid4().hex
            engine = create_store_engine("", data_dir=str(data_dir))
        else:
            name = f"agentdeck_test_{uuid.uuid4().hex[:16]}"
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._pg_names.append(name)
            engine = create_store_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        self._engines.append(engine)
        return engine

    def same_database(self, engine: Engine) -> Engine:
        """A second engine (its own pool) on the database of ``engine``."""
        another = create_store_engine(engine.url.render_as_string(hide_password=False))
        self._engines.append(another)
        return another

    def close(self) -> None:
        """Dispose every engine and drop every PostgreSQL database created."""
        for engine in self._engines:
            engine.dispose()
        if self._admin is not None:
            with self._admin.connect() as conn:
                for name in self._pg_names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _databases(request: pytest.FixtureRequest, root: Path) -> Databases:
    backend: str = request.param
    admin = request.getfixturevalue("pg_admin") if backend == "postgresql" else None
    return Databases(backend, root, admin)


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database shared by the session's tests of one backend."""
    databases = _databases(request, tmp_path_factory.mktemp("store"))
    try:
        shared = databases.new_engine()
        migrate(shared)
        yield shared
    finally:
        databases.close()


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, unmigrated databases of one backend, removed after the test."""
    created = _databases(request, tmp_path)
    yield created
    created.close()
