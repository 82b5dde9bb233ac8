"""The operators' tables: what the command line itself must remember (redriven dead letters).

Migrated with every service's tables (see :mod:`agentdeck.cli.schemas`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store.sql import Schema, UtcDateTime, new_metadata

__all__ = ["SCHEMA", "RedriveRow", "Tables"]


class Tables(DeclarativeBase):
    """Declarative base of the operators' tables."""

    metadata = new_metadata()


class RedriveRow(Tables):
    """A dead letter put back on its topic: once, by whom, when and where to."""

    __tablename__ = "dead_letter_redrives"

    dead_letter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    redriven_at: Mapped[datetime] = mapped_column(UtcDateTime())
    redriven_by: Mapped[str] = mapped_column(String(200))
    republished_to: Mapped[str] = mapped_column(Text)


SCHEMA = Schema(
    "operations",
    Tables.metadata,
    Path(__file__).resolve().with_name("migrations"),
    "operations_schema_version",
)
