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

from testkit.sql import BACKENDS, Databases, databases_for

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


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, unmigrated databases of one backend, removed after the test."""
    created = databases_for(request, tmp_path)
    yield created
    created.close()
