"""Paused admission in the planner's tables: the pauses in force and the goals that wait.

Every planner replica reads the same rows, so a pause one replica applied
holds the goals another one receives; resuming releases the waiting goals of
every replica's partitions.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, insert, or_, select

from agentdeck.contracts import FieldCipher
from agentdeck.contracts import models as m
from agentdeck.planner.adapters.tables import HeldGoalRow, PauseRow
from agentdeck.planner.core.admission import Admitted, Grant
from agentdeck.planner.core.pause import Pause, Pauses, ScopeKey, Waiting
from agentdeck.privacy import AtRest
from agentdeck.store.sql import table_of

__all__ = ["PauseChanges", "PausedAdmission"]

_PAUSES = table_of(PauseRow)
_HELD = table_of(HeldGoalRow)
_PATH = "planner.held_goal"


@dataclass
class PauseChanges:
    """What a batch changes: pauses set and lifted, goals held (sealed) and released."""

    pauses: dict[ScopeKey, Pause | None] = field(default_factory=dict)
    held: dict[str, tuple[Waiting, str]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)


class PausedAdmission:
    """Loads and saves pauses and held goals (held goals sealed under their run's subject key)."""

    def __init__(self, *, cipher: FieldCipher | None = None) -> None:
        self._at_rest = AtRest(cipher)

    @staticmethod
    def pauses(conn: Connection) -> Pauses:
        """Every pause in force (a handful at most)."""
        rows = conn.execute(select(_PAUSES)).all()
        return Pauses(
            {
                (m.AdmissionScope(r.scope), r.target): Pause(
                    m.AdmissionScope(r.scope), r.target, r.set_by, r.reason, r.set_at
                )
                for r in rows
            }
        )

    def waiting(
        self, conn: Connection, keys: Collection[ScopeKey], runs: Collection[str]
    ) -> dict[str, Waiting]:
        """The goals waiting under any of the scopes ``keys``, or of the runs ``runs``, by run."""
        if not keys and not runs:
            return {}
        stmt = select(_HELD.c.run_id, _HELD.c.goal)
        if not any(scope is m.AdmissionScope.GLOBAL for scope, _ in keys):
            tenants = [t for s, t in keys if s is m.AdmissionScope.TENANT]
            agents = [t for s, t in keys if s is m.AdmissionScope.AGENT]
            stmt = stmt.where(
                or_(
                    _HELD.c.tenant.in_(tenants),
                    _HELD.c.agent.in_(agents),
                    _HELD.c.run_id.in_(list(runs)),
                )
            )
        found = (self._opened(r.run_id, r.goal) for r in conn.execute(stmt))
        return {w.run_id: w for w in found if w is not None}

    def uncovered(self, conn: Connection, *, limit: int = 100) -> dict[str, Waiting]:
        """Goals waiting under no pause any more, oldest first, by run.

        A goal held by one replica while another resumed its scope (the resume
        read the waiting goals before this one was saved) is left so; it starts
        when a planner next sweeps for these.
        """
        p = _PAUSES.c
        covering = select(_PAUSES.c.scope).where(
            (p.scope == m.AdmissionScope.GLOBAL.value)
            | ((p.scope == m.AdmissionScope.TENANT.value) & (p.target == _HELD.c.tenant))
            | ((p.scope == m.AdmissionScope.AGENT.value) & (p.target == _HELD.c.agent))
        )
        stmt = (
            select(_HELD.c.run_id, _HELD.c.goal)
            .where(~covering.exists())
            .order_by(_HELD.c.held_at, _HELD.c.run_id)
            .limit(limit)
        )
        found = (self._opened(r.run_id, r.goal) for r in conn.execute(stmt))
        return {w.run_id: w for w in found if w is not None}

    def seal(self, held: Waiting) -> str:
        """The stored text of ``held``: call it before the write transaction opens."""
        text = json.dumps(
            {
                "goal": held.goal.model_dump(mode="json"),
                "admission": {
                    "producer_id": held.admission.producer_id,
                    "key_id": held.admission.key_id,
                    "grant": held.admission.grant.model_dump(mode="json"),
                    "registry_version": held.admission.registry_version,
                },
                "agent": held.agent,
                "held_at": held.held_at.isoformat(),
            }
        )
        return self._at_rest.seal(
            text,
            tenant=held.goal.envelope.tenant,
            run_id=held.run_id,
            record_id=held.run_id,
            path=_PATH,
        )

    def _opened(self, run_id: str, text: str) -> Waiting | None:
        clear = self._at_rest.open(text, record_id=run_id, path=_PATH)
        if clear is None:
            return None  # its subject was erased: the goal is gone with its data
        data = json.loads(clear)
        admission = data["admission"]
        return Waiting(
            goal=m.GoalSubmitted.model_validate(data["goal"]),
            admission=Admitted(
                admission["producer_id"],
                admission["key_id"],
                Grant.model_validate(admission["grant"]),
                admission["registry_version"],
            ),
            agent=data["agent"],
            held_at=datetime.fromisoformat(data["held_at"]),
        )

    @staticmethod
    def save(conn: Connection, changes: PauseChanges) -> None:
        """Write a batch's changes in the caller's transaction."""
        for (scope, target), pause in changes.pauses.items():
            key = (_PAUSES.c.scope == scope.value) & (_PAUSES.c.target == target)
            conn.execute(delete(_PAUSES).where(key))
            if pause is not None:
                conn.execute(insert(_PAUSES), [_pause_row(pause)])
        gone = list(changes.released)
        if gone:
            conn.execute(delete(_HELD).where(_HELD.c.run_id.in_(gone)))
        rows = _held_rows([v for k, v in changes.held.items() if k not in changes.released])
        if rows:  # a goal held again (another goal of the same run) replaces the first
            conn.execute(delete(_HELD).where(_HELD.c.run_id.in_([r["run_id"] for r in rows])))
            conn.execute(insert(_HELD), rows)


def _pause_row(pause: Pause) -> dict[str, object]:
    return {
        "scope": pause.scope.value,
        "target": pause.target,
        "set_by": pause.set_by,
        "reason": pause.reason,
        "set_at": pause.set_at,
    }


def _held_rows(held: Sequence[tuple[Waiting, str]]) -> list[dict[str, object]]:
    return [
        {
            "run_id": h.run_id,
            "goal_event_id": h.goal.envelope.event_id,
            "tenant": h.goal.envelope.tenant,
            "agent": h.agent,
            "goal": text,
            "held_at": h.held_at,
        }
        for h, text in held
    ]
