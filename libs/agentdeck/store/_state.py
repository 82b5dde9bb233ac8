"""Keyed, versioned state of one service (run state, parked calls, switches)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from agentdeck.store._dialect import per_dialect, table_of
from agentdeck.store._models import ServiceStateRow

__all__ = ["StateEntry", "StateRepository"]

_TABLE = table_of(ServiceStateRow)


@dataclass(frozen=True)
class StateEntry:
    """One key's state: JSON text the owning service interprets, and its version."""

    key: str
    version: int
    state: str
    updated_at: datetime


def _entry(row: ServiceStateRow) -> StateEntry:
    return StateEntry(row.key, row.version, row.state, row.updated_at)


def _upsert(insert: Any) -> Any:
    stmt = insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["service", "key"],
        set_={
            "state": stmt.excluded.state,
            "updated_at": stmt.excluded.updated_at,
            "version": _TABLE.c.version + 1,
        },
    )


_UPSERT = per_dialect(_upsert)
_INSERT_NEW = per_dialect(lambda insert: insert(_TABLE).on_conflict_do_nothing())


class StateRepository:
    """Reads and writes ``service_state``. Stateless; pass the connection."""

    def get(self, conn: Connection, service: str, key: str) -> StateEntry | None:
        """The state of ``key``, if any."""
        found = self.get_many(conn, service, [key])
        return found.get(key)

    def get_many(
        self, conn: Connection, service: str, keys: Collection[str]
    ) -> dict[str, StateEntry]:
        """The states of ``keys`` that exist, by key (one query)."""
        if not keys:
            return {}
        stmt = select(ServiceStateRow).where(
            ServiceStateRow.service == service, ServiceStateRow.key.in_(list(set(keys)))
        )
        return {row.key: _entry(row) for row in conn.execute(stmt).all()}  # type: ignore[arg-type]

    def scan(
        self, conn: Connection, service: str, *, prefix: str = "", limit: int = 1000
    ) -> list[StateEntry]:
        """Every key of ``service`` starting with ``prefix``, in key order."""
        stmt = (
            select(ServiceStateRow)
            .where(ServiceStateRow.service == service, ServiceStateRow.key.startswith(prefix))
            .order_by(ServiceStateRow.key)
            .limit(limit)
        )
        return [_entry(row) for row in conn.execute(stmt).all()]  # type: ignore[arg-type]

    def keys(self, conn: Connection, service: str, *, prefix: str = "") -> list[str]:
        """Every key of ``service`` starting with ``prefix``, in key order (no states read)."""
        stmt = (
            select(ServiceStateRow.key)
            .where(ServiceStateRow.service == service, ServiceStateRow.key.startswith(prefix))
            .order_by(ServiceStateRow.key)
        )
        return list(conn.execute(stmt).scalars())

    def scan_range(
        self, conn: Connection, service: str, start: str, stop: str | None
    ) -> Iterator[StateEntry]:
        """The entries of ``service`` with ``start <= key < stop`` (no stop: every later key), in
        key order, streamed."""
        stmt = select(ServiceStateRow).where(
            ServiceStateRow.service == service, ServiceStateRow.key >= start
        )
        if stop is not None:
            stmt = stmt.where(ServiceStateRow.key < stop)
        rows = conn.execute(stmt.order_by(ServiceStateRow.key).execution_options(yield_per=8))
        for row in rows:
            yield _entry(row)  # type: ignore[arg-type]

    def put(
        self,
        conn: Connection,
        service: str,
        key: str,
        state: str,
        *,
        expected_version: int | None,
        now: datetime | None = None,
    ) -> int | None:
        """Write ``state`` if the stored version is ``expected_version`` (None: key is new).

        Returns the new version, or None if another writer got there first.
        """
        at = now or datetime.now(UTC)
        if expected_version is None:
            values = {
                "service": service,
                "key": key,
                "version": 1,
                "state": state,
                "updated_at": at,
            }
            return 1 if conn.execute(_INSERT_NEW(conn), values).rowcount == 1 else None
        stmt = (
            update(_TABLE)
            .where(
                _TABLE.c.service == service,
                _TABLE.c.key == key,
                _TABLE.c.version == expected_version,
            )
            .values(state=state, version=expected_version + 1, updated_at=at)
        )
        return expected_version + 1 if conn.execute(stmt).rowcount == 1 else None

    def upsert_many(
        self,
        conn: Connection,
        service: str,
        states: Mapping[str, str],
        *,
        now: datetime | None = None,
    ) -> None:
        """Write every state unconditionally (last writer wins), in one statement.

        For state a single owner writes (a run's state belongs to the consumer
        that owns the run's partition).
        """
        if not states:
            return
        at = now or datetime.now(UTC)
        rows = [
            {"service": service, "key": k, "version": 1, "state": v, "updated_at": at}
            for k, v in states.items()
        ]
        conn.execute(_UPSERT(conn), rows)

    def delete_many(self, conn: Connection, service: str, keys: Collection[str]) -> int:
        """Remove every key of ``keys`` (one statement); how many existed."""
        if not keys:
            return 0
        stmt = delete(_TABLE).where(_TABLE.c.service == service, _TABLE.c.key.in_(list(keys)))
        return conn.execute(stmt).rowcount

    def delete(self, conn: Connection, service: str, key: str) -> bool:
        """Remove ``key``; whether it existed."""
        stmt = delete(_TABLE).where(_TABLE.c.service == service, _TABLE.c.key == key)
        return conn.execute(stmt).rowcount == 1
