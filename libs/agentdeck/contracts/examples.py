"""Deterministic example events, built from the schemas themselves.

Used for golden samples, round-trip tests and benchmarks: every field gets a
stable value of its type, so an example of any version of any record can be
encoded without hand-written fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from fastavro import schemaless_writer

from agentdeck.contracts._codec import MARKER
from agentdeck.contracts._files import full_name
from agentdeck.contracts._registry import SchemaVersion

__all__ = ["EXAMPLE_TIME", "example_datum", "example_message"]

EXAMPLE_TIME = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

_SCALARS: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 1_000_000_007,
    "float": 0.5,
    "double": 0.25,
    "bytes": b"\x00\x01example",
    "string": "example",
}


def _value(node: Any, field: str, named: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return _value(next(n for n in node if n != "null"), field, named)
    if isinstance(node, str):
        if node in named:
            return _value(named[node], field, named)
        return f"{field}-example" if node == "string" else _SCALARS[node]
    kind = node["type"]
    if node.get("logicalType") == "timestamp-micros":
        return EXAMPLE_TIME
    if kind in ("record", "enum"):
        named[node["name"]] = node
        named[full_name(node)] = node
    if kind == "record":
        return {f["name"]: _value(f["type"], f["name"], named) for f in node["fields"]}
    if kind == "enum":
        return node["symbols"][-1]
    if kind == "array":
        return [_value(node["items"], field, named)]
    if kind == "map":
        return {"key": _value(node["values"], field, named)}
    return _value(kind, field, named)


def example_datum(version: SchemaVersion) -> dict[str, Any]:
    """A valid record of ``version`` with a consistent envelope."""
    datum: dict[str, Any] = _value(version.source.schema, "event", {})
    envelope = datum["envelope"]
    envelope.update(event_type=version.full_name, schema_version=version.version)
    return datum


def example_message(version: SchemaVersion) -> bytes:
    """The single-object encoding of :func:`example_datum`, written with ``version``."""
    buf = BytesIO()
    buf.write(MARKER)
    buf.write(version.fingerprint)
    schemaless_writer(buf, version.parsed, example_datum(version))
    return buf.getvalue()
