"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

import base64
from base64 import b64decode
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["MONEY_SCALE", "Headers", "KafkaHeaders", "Money", "UtcDateTime", "stored_headers"]

MONEY_SCALE = 9
"""Decimal places kept for money amounts (nano-units)."""

_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)

Headers = tuple[tuple[str, bytes | None], ...]
"""Kafka message headers: ordered (key, value) pairs; keys may repeat."""


def quantize_money(value: Decimal) -> Decimal:
    """Round ``value`` to :data:`MONEY_SCALE` places, half to even."""
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount.

    ``NUMERIC(28, 9)`` on PostgreSQL. SQLite has no exact decimal type, so there
    the amount is stored as an integer count of nano-units; arithmetic and
    comparisons in SQL stay exact on both backends.
    """

    impl = Numeric(28, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(28, MONEY_SCALE))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = quantize_money(Decimal(value))
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return quantize_money(Decimal(int(value)).scaleb(-MONEY_SCALE))
        return quantize_money(Decimal(value))


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored and returned in UTC.

    Naive datetimes are refused. SQLite stores the UTC wall time as fixed-width
    text, so ordering and range comparisons work there too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware instant")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class KafkaHeaders(TypeDecorator[Headers]):
    """Kafka headers as JSON: ``[[key, base64 value or null], ...]``, order kept."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Headers | None, _dialect: Dialect) -> Any:
        if value is None:
            return None
        return [
            [key, None if raw is None else base64.b64encode(raw).decode()] for key, raw in value
        ]

    def process_result_value(self, value: Any, _dialect: Dialect) -> Headers | None:
        return None if value is None else stored_headers(value)


def stored_headers(pairs: Sequence[Sequence[Any]]) -> Headers:
    """Headers as :class:`KafkaHeaders` stores them (parsed JSON), as (key, bytes) pairs."""
    return tuple((str(key), None if raw is None else b64decode(raw)) for key, raw in pairs)
