"""The planner's tables: its runs' states, the model answers it recorded, and paused admission.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.contracts.models import AdmissionScope
from agentdeck.store.sql import Schema, UtcDateTime, new_metadata, one_of

__all__ = ["SCHEMA", "HeldGoalRow", "ModelCallRow", "PauseRow", "RunStateRow", "Tables"]

_ID = String(64)
_NAME = String(200)


class Tables(DeclarativeBase):
    """Declarative base of the planner's tables."""

    metadata = new_metadata()


class RunStateRow(Tables):
    """Everything the planner knows about one run, saved after every batch.

    ``state`` is the run's JSON (:class:`~agentdeck.planner.core.RunState`),
    sealed under the run's subject key: only the planner reads it.
    """

    __tablename__ = "planner_runs"
    __table_args__ = (Index("ix_planner_runs_wake_at", "wake_at"),)

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    wake_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the run counts as stalled (a call in flight, no progress): it is re-driven then."""
    final_event_id: Mapped[str | None] = mapped_column(_ID)
    """The id of the run's final event, once it ended: checked for in the archive."""


class ModelCallRow(Tables):
    """The answer a model gave to one turn of a run, kept so the turn is never asked twice.

    ``response`` is sealed under the run's subject key, bound to ``<run id>:<turn>``.
    ``cached`` and ``latency_ms`` say how it was obtained, so an answer read back (its
    event was never published: a crash) is billed and recorded as it was first.
    """

    __tablename__ = "planner_model_calls"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    turn: Mapped[int] = mapped_column(Integer, primary_key=True)
    response: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cached: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """None for answers kept before this was recorded (read back as cached)."""
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PauseRow(Tables):
    """A scope whose new runs wait: written when an operator pauses it, deleted on resume."""

    __tablename__ = "planner_pauses"
    __table_args__ = (one_of("scope", AdmissionScope),)

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(_NAME, primary_key=True)
    set_by: Mapped[str] = mapped_column(_NAME)
    reason: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HeldGoalRow(Tables):
    """An admitted goal that waits for its scope to be resumed.

    ``goal`` is the goal and how it was admitted, as JSON sealed under the
    run's subject key; ``tenant`` and ``agent`` say which pauses hold it.
    """

    __tablename__ = "planner_held_goals"
    __table_args__ = (Index("ix_planner_held_goals_held_at", "held_at"),)

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    goal_event_id: Mapped[str] = mapped_column(_ID)
    tenant: Mapped[str] = mapped_column(_NAME)
    agent: Mapped[str] = mapped_column(_NAME)
    goal: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "planner",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "planner_schema_version",
)
