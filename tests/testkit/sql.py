"""Throwaway databases on both store backends: a SQLite file and a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentdeck.store import create_store_engine

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
NewId = Callable[[str], str]
"""Makes ids no other test uses (the ``new_id`` fixture)."""

BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.integration))


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


def databases_for(request: pytest.FixtureRequest, root: Path) -> Databases:
    backend: str = request.param
    admin = request.getfixturevalue("pg_admin") if backend == "postgresql" else None
    return Databases(backend, root, admin)
