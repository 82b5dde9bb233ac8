"""Fixtures that run the store contract against SQLite and PostgreSQL.

PostgreSQL is real (127.0.0.1:5432, user ``postgres``, trust auth). Each session
creates its own database and drops it at the end. When the server is down the
PostgreSQL tests error out with the command that starts it; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.sql import BACKENDS, Databases, NewId, databases_for

__all__ = ["NewId"]  # the contract tests annotate with it


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, unmigrated databases of one backend, removed after the test."""
    created = databases_for(request, tmp_path)
    yield created
    created.close()
