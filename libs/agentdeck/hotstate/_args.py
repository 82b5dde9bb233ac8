"""Argument checks and conversions both adapters share, so they refuse the same input."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from agentdeck.hotstate.errors import HotStateConfigError

__all__ = [
    "check_amount",
    "check_bytes",
    "check_keys",
    "check_positive_int",
    "check_prefix",
    "integral_or_float",
    "to_ms",
]


def to_ms(seconds: float, *, name: str) -> int:
    """Convert a positive duration in seconds to whole milliseconds (at least one)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"{name} must be seconds as a float, got {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {seconds!r}")
    return max(1, round(seconds * 1000))


def check_positive_int(value: int, *, name: str) -> int:
    """Return ``value`` if it is an ``int`` of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int of at least 1, got {value!r}")
    return value


def check_amount(amount: int | float) -> int | float:
    """Return ``amount`` if it is a finite ``int`` or ``float``."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"amount must be an int or a float, got {amount!r}")
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValueError(f"amount must be finite, got {amount!r}")
    return amount


def check_bytes(value: bytes, *, name: str) -> bytes:
    """Return ``value`` if it is ``bytes``; stored values are bytes, never text."""
    if not isinstance(value, bytes):
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    return value


def check_keys(keys: Sequence[str]) -> Sequence[str]:
    """Return ``keys`` unless it is a single string, which would read as its characters."""
    if isinstance(keys, str | bytes):
        raise TypeError("keys must be a sequence of strings, not a single string")
    return keys


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a non-empty string without whitespace."""
    if not prefix or any(char.isspace() for char in prefix):
        raise HotStateConfigError(f"key prefix must be non-empty without whitespace: {prefix!r}")
    return prefix


def integral_or_float(value: float | Decimal) -> int | float:
    """Return ``value`` as an ``int`` when it is integral, else as a ``float``."""
    if value == int(value):
        return int(value)
    return float(value)
