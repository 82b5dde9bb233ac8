"""Avro data for every schema: values of each type in a few variants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["VARIANTS", "avro_datum"]

VARIANTS = ("plain", "nulls", "extreme")
"""``nulls``: every optional field null, arrays empty; ``extreme``: extreme numbers, long
non-ASCII text, long arrays; ``plain``: values set."""

_TEXT = {"short": "x", "long": "ü€𝄞" * 40 + "y" * 200, "empty": ""}


def avro_datum(node: Any, named: dict[str, Any], variant: str) -> Any:
    """A value of ``node``; ``variant`` picks nulls, extremes, lengths."""
    if isinstance(node, list):
        branch = node[0] if variant == "nulls" else next(n for n in node if n != "null")
        return avro_datum(branch, named, variant)
    if isinstance(node, str):
        if node in named:
            return avro_datum(named[node], named, variant)
        return {
            "null": None,
            "boolean": variant != "nulls",
            "int": {"extreme": -(2**31), "nulls": 0}.get(variant, 63),
            "long": {"extreme": -(2**63), "nulls": 0}.get(variant, 2**40 + 1),
            "bytes": {"extreme": bytes(range(256)), "nulls": b""}.get(variant, b"\x00\xff"),
            "string": _TEXT["long" if variant == "extreme" else "short"],
        }[node]
    kind = node["type"]
    if node.get("logicalType") == "timestamp-micros":
        return (
            datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC)
            if variant == "extreme"
            else (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
        )
    if kind == "record":
        named[node["name"]] = node
        return {f["name"]: avro_datum(f["type"], named, variant) for f in node["fields"]}
    if kind == "enum":
        named[node["name"]] = node
        return node["symbols"][0 if variant == "nulls" else -1]
    if kind == "array":
        size = {"nulls": 0, "extreme": 70}.get(variant, 3)
        return [avro_datum(node["items"], named, variant) for _ in range(size)]
    return avro_datum(kind, named, variant)
