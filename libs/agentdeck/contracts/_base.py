"""Base class of every generated record model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Record"]


class Record(BaseModel):
    """An immutable Avro record: frozen, no unknown fields, field docs from the schema."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
