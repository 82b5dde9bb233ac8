"""Kill switches in the store: one row per switch, read by every replica on every batch."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import Connection

from agentdeck.contracts.models import KillSwitchScope
from agentdeck.policy_checker.core import Switch
from agentdeck.store import StateRepository

__all__ = ["SWITCH_PREFIX", "Switchboard"]

SWITCH_PREFIX = "switch:"
_MAX_SWITCHES = 10_000


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)

    scope: KillSwitchScope
    target: str
    engaged: bool
    set_by: str
    reason: str
    set_at: AwareDatetime

    @classmethod
    def of(cls, switch: Switch) -> _Row:
        return cls(**{name: getattr(switch, name) for name in cls.model_fields})

    def switch(self) -> Switch:
        return Switch(**self.model_dump())


class Switchboard:
    """Reads and writes switch rows in the service's keyed state."""

    def __init__(self, state: StateRepository, service: str) -> None:
        self._state = state
        self._service = service

    def all(self, conn: Connection) -> list[Switch]:
        """Every switch ever set (engaged or released)."""
        rows = self._state.scan(conn, self._service, prefix=SWITCH_PREFIX, limit=_MAX_SWITCHES)
        return [_Row.model_validate_json(row.state).switch() for row in rows]

    def get_many(self, conn: Connection, keys: Collection[str]) -> dict[str, Switch]:
        """The switches stored under ``keys`` (made by ``core.switch_key``)."""
        found = self._state.get_many(conn, self._service, [SWITCH_PREFIX + k for k in keys])
        return {
            key.removeprefix(SWITCH_PREFIX): _Row.model_validate_json(entry.state).switch()
            for key, entry in found.items()
        }

    def save(self, conn: Connection, switches: Mapping[str, Switch], *, now: datetime) -> None:
        """Write ``switches`` by key, last writer wins."""
        rows = {SWITCH_PREFIX + k: _Row.of(s).model_dump_json() for k, s in switches.items()}
        self._state.upsert_many(conn, self._service, rows, now=now)
