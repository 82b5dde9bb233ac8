"""Typed readings of Redis replies, which the driver hands over untyped."""

from __future__ import annotations

from decimal import Decimal

from agentdeck.hotstate._args import integral_or_float
from agentdeck.hotstate.errors import HotStateError

__all__ = ["as_bytes", "as_bytes_list", "as_number"]


def as_bytes(reply: object) -> bytes | None:
    """Read a bulk-string reply that may be missing."""
    if reply is None or isinstance(reply, bytes):
        return reply
    raise HotStateError(f"expected bytes from Redis, got {type(reply).__name__}")


def as_bytes_list(reply: object) -> list[bytes]:
    """Read an array reply of bulk strings."""
    if not isinstance(reply, list):
        raise HotStateError(f"expected a list from Redis, got {type(reply).__name__}")
    return [_present(as_bytes(item)) for item in reply]


def as_number(reply: object) -> int | float:
    """Read a stored counter (decimal text); a missing counter reads as 0."""
    raw = as_bytes(reply)
    return 0 if raw is None else integral_or_float(Decimal(raw.decode("ascii")))


def _present(value: bytes | None) -> bytes:
    if value is None:
        raise HotStateError("unexpected nil inside a Redis list reply")
    return value
