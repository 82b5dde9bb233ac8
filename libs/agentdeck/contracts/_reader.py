"""Compiled readers: one generated Python function per parsed Avro schema.

fastavro interprets the schema for every message it reads, through a file
object, a few calls per field; a reader generated once per schema reads the
bytes directly and is several times faster on the platform's records. It
reads what fastavro reads for a writer schema that is also the reader schema
(the same dict, the same values: logical timestamps as UTC datetimes, enums
as symbols, arrays as lists) and only that. Anything it does not handle (a
type the schemas do not use, a value it cannot read exactly as fastavro
would) makes it raise :class:`Unreadable`, and the caller reads the message
with fastavro, which also reports what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

__all__ = ["Reader", "Unreadable", "compile_reader"]

Reader = Callable[[bytes, int], tuple[dict[str, Any], int]]
"""Reads one record from ``data`` at ``pos``: ``(record, position after it)``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_BITS = 70


class Unreadable(Exception):
    """This reader cannot read the message exactly as fastavro would."""


class _Generator:
    """Writes the body of one reader function, a statement per line.

    Varints of one byte (lengths under 64, small numbers, union and enum
    indexes) are read inline; calls cost more than the reading here.
    """

    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self._ids = count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def emit(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]

    def read(self, schema: Any, target: str, indent: int) -> None:
        """Statements that read ``schema`` into the variable ``target``."""
        if isinstance(schema, list):
            self._union(schema, target, indent)
        elif isinstance(schema, dict):
            self._complex(schema, target, indent)
        elif schema in ("int", "long"):
            self._long(target, indent)
        elif schema in ("string", "bytes"):
            self._long("n", indent)
            self.emit(
                indent,
                "end = pos + n",
                "if n < 0 or end > size: raise Unreadable",
                f"{target} = data[pos:end]{'.decode()' if schema == 'string' else ''}; pos = end",
            )
        elif schema == "boolean":
            self.emit(
                indent,
                "b = data[pos]; pos += 1",
                "if b > 1: raise Unreadable",
                f"{target} = b == 1",
            )
        elif schema == "null":
            self.emit(indent, f"{target} = None")
        elif isinstance(schema, str) and schema in self.named:
            self.read(self.named[schema], target, indent)
        else:
            raise Unreadable

    def _long(self, target: str, indent: int) -> None:
        """Reads a varint into ``target``: one or two bytes at once, longer ones (timestamps)
        in a loop; a varint of more than 64 bits is refused, as fastavro refuses it."""
        self.emit(
            indent,
            "b = data[pos]",
            f"if b < 128: {target} = (b >> 1) ^ -(b & 1); pos += 1",
            "else:",
            "    c = data[pos + 1]",
            "    if c < 128:",
            f"        {target} = (b & 127) | (c << 7); pos += 2",
            f"        {target} = ({target} >> 1) ^ -({target} & 1)",
            "    else:",
            f"        {target} = (b & 127) | ((c & 127) << 7); shift = 14; pos += 2",
            "        while True:",
            "            b = data[pos]; pos += 1",
            f"            {target} |= (b & 127) << shift",
            "            if b < 128: break",
            "            shift += 7",
            f"            if shift >= {_LONG_BITS}: raise Unreadable",
            f"        if {target} >> 64: raise Unreadable",
            f"        {target} = ({target} >> 1) ^ -({target} & 1)",
        )

    def _index(self, count: int, indent: int) -> None:
        """Reads a union or enum index of one byte into ``b``: 0 to ``count - 1``."""
        self.emit(
            indent,
            "b = data[pos]; pos += 1",
            f"if b & 1 or b >= {2 * count}: raise Unreadable",
        )

    def _complex(self, schema: dict[str, Any], target: str, indent: int) -> None:
        kind = schema["type"]
        if "logicalType" in schema:
            if (kind, schema["logicalType"]) != ("long", "timestamp-micros"):
                raise Unreadable
            self._long(target, indent)
            self.emit(indent, f"{target} = _EPOCH + _timedelta(microseconds={target})")
        elif kind == "record":
            self._record(schema, target, indent)
        elif kind == "enum":
            symbols = self.name("symbols")
            self.constants[symbols] = tuple(schema["symbols"])
            self._index(len(schema["symbols"]), indent)
            self.emit(indent, f"{target} = {symbols}[b >> 1]")
        elif kind == "array":
            self._array(schema["items"], target, indent)
        else:
            self.read(kind, target, indent)

    def _record(self, schema: dict[str, Any], target: str, indent: int) -> None:
        values = []
        for field in schema["fields"]:
            value = self.name("v")
            self.read(field["type"], value, indent)
            values.append(f"{field['name']!r}: {value}")
        self.emit(indent, f"{target} = {{{', '.join(values)}}}")

    def _union(self, branches: list[Any], target: str, indent: int) -> None:
        self._index(len(branches), indent)
        for i, branch in enumerate(branches):
            self.emit(indent, f"{'if' if i == 0 else 'elif'} b == {2 * i}:")
            self.read(branch, target, indent + 1)

    def _array(self, items: Any, target: str, indent: int) -> None:
        size, item = self.name("n"), self.name("item")
        self.emit(indent, f"{target} = []")
        self._long(size, indent)
        self.emit(indent, f"while {size}:")
        self.emit(indent + 1, f"if {size} < 0:")
        self.emit(indent + 2, f"{size} = -{size}")
        self._long("_", indent + 2)
        self.emit(indent + 1, f"for _ in range({size}):")
        self.read(items, item, indent + 2)
        self.emit(indent + 2, f"{target}.append({item})")
        self._long(size, indent + 1)


def compile_reader(parsed: dict[str, Any]) -> Reader | None:
    """The reader of a record schema parsed by fastavro; None if it uses what is not handled."""
    generator = _Generator(parsed.get("__named_schemas", {}))
    try:
        generator.read(parsed, "record", 1)
    except Unreadable:
        return None
    source = "\n".join(
        [
            "def read(data, pos):",
            "    size = len(data)",
            "    try:",
            *("    " + line for line in generator.lines),
            # Past the end, a timestamp out of range: fastavro reads it and says what is wrong.
            "    except Exception:",
            "        raise Unreadable from None",
            "    return record, pos",
        ]
    )
    namespace: dict[str, Any] = {
        "_EPOCH": _EPOCH,
        "_timedelta": timedelta,
        "Unreadable": Unreadable,
        **generator.constants,
    }
    exec(compile(source, f"<avro reader of {parsed.get('name')}>", "exec"), namespace)  # noqa: S102 -- generated from our own schemas
    reader: Reader = namespace["read"]
    return reader
