"""The planner's tables: its runs' states and the model answers it recorded.

Migrated by the scripts under ``migrations/`` (see :data:`SCHEMA`); a test keeps
the two in step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, UtcDateTime, new_metadata

__all__ = ["SCHEMA", "ModelCallRow", "RunStateRow", "Tables"]

_ID = String(64)


class Tables(DeclarativeBase):
    """Declarative base of the planner's tables."""

    metadata = new_metadata()


class RunStateRow(Tables):
    """Everything the planner knows about one run, saved after every batch.

    ``state`` is the run's JSON (:class:`~agentdeck.planner.core.RunState`),
    sealed under the run's subject key: only the planner reads it.
    """

    __tablename__ = "planner_runs"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ModelCallRow(Tables):
    """The answer a model gave to one turn of a run, kept so the turn is never asked twice.

    ``response`` is sealed under the run's subject key, bound to ``<run id>:<turn>``.
    """

    __tablename__ = "planner_model_calls"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    turn: Mapped[int] = mapped_column(Integer, primary_key=True)
    response: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


SCHEMA = Schema(
    "planner",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "planner_schema_version",
)
