"""The store contract tests run against SQLite and PostgreSQL (see the ``databases`` fixture).

PostgreSQL is real (127.0.0.1:5432, user ``postgres``, trust auth). Each session
creates its own database and drops it at the end. When the server is down the
PostgreSQL tests error out with the command that starts it; they never skip.
"""

from __future__ import annotations

from testkit.sql import Databases, NewId

__all__ = ["Databases", "NewId"]  # the contract tests annotate with them
