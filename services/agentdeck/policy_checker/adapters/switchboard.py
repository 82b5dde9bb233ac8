"""Kill switches in ``policy_switches``: one row per switch, read by every replica."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, RowMapping, bindparam, select, tuple_

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.controls import Switch, SwitchKey
from agentdeck.policy_checker.adapters.tables import SwitchRow
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of

__all__ = ["Switchboard"]

_MAX_SWITCHES = 10_000
_SWITCHES = table_of(SwitchRow)
_FIELDS = ("scope", "target", "engaged", "set_by", "reason", "set_at")

_ALL = (
    select(*(_SWITCHES.c[f] for f in _FIELDS))
    .order_by(_SWITCHES.c.scope, _SWITCHES.c.target)
    .limit(_MAX_SWITCHES)
)
# One RUN switch stays per cancelled run: they are read by run, never all at once,
# so they can neither grow every batch's read nor push broader switches past the limit.
_BROAD = _ALL.where(_SWITCHES.c.scope != KillSwitchScope.RUN.value)
_GET_MANY = select(*(_SWITCHES.c[f] for f in _FIELDS)).where(
    tuple_(_SWITCHES.c.scope, _SWITCHES.c.target).in_(bindparam("keys", expanding=True))
)


@per_dialect
def _put(insert: InsertFactory) -> AnyInsert:
    stmt = insert(_SWITCHES)
    kept = ("scope", "target")
    return stmt.on_conflict_do_update(
        index_elements=list(kept),
        set_={c.name: stmt.excluded[c.name] for c in _SWITCHES.c if c.name not in kept},
    )


def _switch(row: RowMapping) -> Switch:
    return Switch(**{**row, "scope": KillSwitchScope(row["scope"])})


class Switchboard:
    """Reads and writes ``policy_switches``. Stateless; pass the connection."""

    def all(self, conn: Connection) -> list[Switch]:
        """Every switch ever set (engaged or released)."""
        return [_switch(row) for row in conn.execute(_ALL).mappings()]

    def covering_any(self, conn: Connection, runs: Collection[str | None]) -> list[Switch]:
        """Every switch that could cover a call of ``runs``: all but RUN ones, and theirs."""
        broad = [_switch(row) for row in conn.execute(_BROAD).mappings()]
        keys = {SwitchKey(KillSwitchScope.RUN, r) for r in runs if r}
        return broad + list(self.get_many(conn, keys).values())

    def get_many(self, conn: Connection, keys: Collection[SwitchKey]) -> dict[SwitchKey, Switch]:
        """The switches among ``keys`` that were ever set (one query)."""
        if not keys:
            return {}
        params = {"keys": [(k.scope.value, k.target) for k in set(keys)]}
        found = conn.execute(_GET_MANY, params).mappings()
        switches = (_switch(row) for row in found)
        return {SwitchKey(s.scope, s.target): s for s in switches}

    def save(self, conn: Connection, switches: Iterable[Switch], *, now: datetime) -> None:
        """Write each switch under its scope and target, last writer wins (one statement)."""
        rows = {
            (s.scope, s.target): {f: getattr(s, f) for f in _FIELDS} | {"updated_at": now}
            for s in switches
        }
        if rows:
            conn.execute(_put(conn), list(rows.values()))
