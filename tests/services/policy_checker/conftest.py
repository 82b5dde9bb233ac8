"""Fixtures of the policy-checker's broker tests: a PostgreSQL store and Redis hot state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.hotstate import HotState, open_hot_state
from agentdeck.store import Store, migrate
from testkit.sql import Databases

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def pg_store(pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A migrated PostgreSQL store of this module's own (the production backend)."""
    databases = Databases("postgresql", Path(tmp_path_factory.mktemp("pc")), pg_admin)
    try:
        engine = databases.new_engine()
        migrate(engine, *SERVICE_SCHEMAS)
        yield Store(engine)
    finally:
        databases.close()


@pytest.fixture
def redis_hot() -> Iterator[HotState]:
    """Real Redis under a key prefix of this test's own."""
    hot = open_hot_state(REDIS_URL, prefix=f"pc{uuid.uuid4().hex[:10]}")
    if not hot.ping():
        pytest.fail(f"Redis unreachable at {REDIS_URL}")
    yield hot
    hot.close()
