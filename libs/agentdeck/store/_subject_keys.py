"""Per-subject data keys (wrapped) and the runs bound to them: crypto-shredding's store side."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from agentdeck.store._dialect import per_dialect, table_of
from agentdeck.store._models import RunSubjectRow, SubjectKeyRow

__all__ = ["SubjectKey", "SubjectKeysRepository"]

_KEYS = table_of(SubjectKeyRow)
_RUNS = table_of(RunSubjectRow)
_INSERT_KEY = per_dialect(lambda insert: insert(_KEYS).on_conflict_do_nothing())
_INSERT_RUN = per_dialect(lambda insert: insert(_RUNS).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A subject key row as stored.

    Attributes:
        kid: Key id: a keyed hash of (tenant, subject).
        tenant: Tenant the subject belongs to.
        wrapped_key: The data key wrapped by the master key; None once erased.
        created_at: When the key was made.
        last_bound_at: When a run last had its data sealed under the key.
        erased_at: When the key was destroyed, if it was.
        erased_reason: Why (``request``, ``retention``, ...).
    """

    kid: str
    tenant: str
    wrapped_key: bytes | None
    created_at: datetime
    last_bound_at: datetime
    erased_at: datetime | None
    erased_reason: str | None

    @property
    def erased(self) -> bool:
        """Whether the key was destroyed."""
        return self.wrapped_key is None


class SubjectKeysRepository:
    """Reads and writes ``subject_keys`` and ``run_subjects``. Stateless; pass the connection."""

    def create(
        self, conn: Connection, *, kid: str, tenant: str, wrapped_key: bytes, now: datetime
    ) -> SubjectKey:
        """Store a new key for ``kid`` unless one (or its tombstone) exists; the row that holds.

        Two processes creating the same subject's key at once both get the winner's row.
        """
        row = {
            "kid": kid,
            "tenant": tenant,
            "wrapped_key": wrapped_key,
            "created_at": now,
            "last_bound_at": now,
            "erased_at": None,
            "erased_reason": None,
        }
        conn.execute(_INSERT_KEY(conn), row)
        found = self.get(conn, kid)
        assert found is not None  # noqa: S101 - inserted or already there, in this transaction
        return found

    def get(self, conn: Connection, kid: str) -> SubjectKey | None:
        """The row of ``kid``, if any."""
        row = conn.execute(select(_KEYS).where(_KEYS.c.kid == kid)).mappings().first()
        return None if row is None else SubjectKey(**row)

    def get_many(self, conn: Connection, kids: Collection[str]) -> dict[str, SubjectKey]:
        """The rows of ``kids`` that exist, by kid."""
        if not kids:
            return {}
        rows = conn.execute(select(_KEYS).where(_KEYS.c.kid.in_(list(kids)))).mappings()
        return {row["kid"]: SubjectKey(**row) for row in rows}

    def create_many(
        self, conn: Connection, keys: Sequence[tuple[str, str, bytes]], *, now: datetime
    ) -> None:
        """Store each ``(kid, tenant, wrapped key)`` unless that kid (or its tombstone) exists."""
        if keys:
            conn.execute(
                _INSERT_KEY(conn),
                [
                    {
                        "kid": kid,
                        "tenant": tenant,
                        "wrapped_key": wrapped,
                        "created_at": now,
                        "last_bound_at": now,
                        "erased_at": None,
                        "erased_reason": None,
                    }
                    for kid, tenant, wrapped in keys
                ],
            )

    def bind_runs(
        self, conn: Connection, bindings: Mapping[str, str], *, now: datetime
    ) -> dict[str, str]:
        """:meth:`bind_run` for each ``run id -> kid``, in three statements; run id -> bound kid."""
        if not bindings:
            return {}
        conn.execute(
            _INSERT_RUN(conn),
            [{"run_id": run, "kid": kid, "bound_at": now} for run, kid in bindings.items()],
        )
        conn.execute(
            update(_KEYS)
            .where(_KEYS.c.kid.in_(set(bindings.values())), _KEYS.c.last_bound_at < now)
            .values(last_bound_at=now)
        )
        return self.kids_of_runs(conn, list(bindings))

    def bind_run(self, conn: Connection, *, run_id: str, kid: str, now: datetime) -> str:
        """Bind ``run_id`` to ``kid`` (the first binding holds); the kid the run is bound to."""
        conn.execute(_INSERT_RUN(conn), {"run_id": run_id, "kid": kid, "bound_at": now})
        conn.execute(
            update(_KEYS)
            .where(_KEYS.c.kid == kid, _KEYS.c.last_bound_at < now)
            .values(last_bound_at=now)
        )
        bound = self.kid_of_run(conn, run_id)
        assert bound is not None  # noqa: S101 - inserted or already there, in this transaction
        return bound

    def kids_of_runs(self, conn: Connection, run_ids: Collection[str]) -> dict[str, str]:
        """The keys the runs among ``run_ids`` that were bound are bound to, by run id."""
        if not run_ids:
            return {}
        stmt = select(_RUNS.c.run_id, _RUNS.c.kid).where(_RUNS.c.run_id.in_(list(run_ids)))
        return {row.run_id: row.kid for row in conn.execute(stmt)}

    def kid_of_run(self, conn: Connection, run_id: str) -> str | None:
        """The key a run is bound to, if it was bound."""
        stmt = select(_RUNS.c.kid).where(_RUNS.c.run_id == run_id)
        return conn.execute(stmt).scalar_one_or_none()

    def erase(self, conn: Connection, kid: str, *, reason: str, now: datetime) -> bool:
        """Destroy the key of ``kid`` (a tombstone stays); whether a live key was destroyed.

        Erasing an unknown kid leaves a tombstone too, so data sealed later for
        the same subject can never be read.
        """
        done = conn.execute(
            update(_KEYS)
            .where(_KEYS.c.kid == kid, _KEYS.c.wrapped_key.is_not(None))
            .values(wrapped_key=None, erased_at=now, erased_reason=reason)
        )
        if done.rowcount:
            return True
        tombstone = {
            "kid": kid,
            "tenant": "",
            "wrapped_key": None,
            "created_at": now,
            "last_bound_at": now,
            "erased_at": now,
            "erased_reason": reason,
        }
        conn.execute(_INSERT_KEY(conn), tombstone)
        return False

    def idle_since(
        self, conn: Connection, tenant: str, before: datetime, *, limit: int = 1000
    ) -> Sequence[str]:
        """Live keys of ``tenant`` no run was bound to since ``before`` (retention candidates)."""
        stmt = (
            select(_KEYS.c.kid)
            .where(
                _KEYS.c.tenant == tenant,
                _KEYS.c.last_bound_at < before,
                _KEYS.c.wrapped_key.is_not(None),
            )
            .order_by(_KEYS.c.last_bound_at)
            .limit(limit)
        )
        return list(conn.execute(stmt).scalars())
