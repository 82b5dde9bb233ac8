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

Given the record's model too, a reader makes the model itself, as
validating what fastavro reads would make it (enum members, tuples, nested
models, the fields set), without the dicts in between: the models are
generated from the schemas, so what the reader reads is of their fields'
types. A model whose fields do not match its schema exactly has no such
reader.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from itertools import count
from typing import Any

from pydantic import AwareDatetime, BaseModel

__all__ = ["Reader", "Unreadable", "compile_reader"]

Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads one record from ``data`` at ``pos``: ``(record, position after it)``; the record
is a dict, or the model the reader was compiled for."""

_NONE = type(None)
_PRIMITIVE = {
    "int": int,
    "long": int,
    "string": str,
    "bytes": bytes,
    "boolean": bool,
    "null": _NONE,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZIGZAG = tuple((b >> 1) ^ -(b & 1) for b in range(128))
"""The number in a varint of one byte (zig-zag: 0, -1, 1, -2...), by the byte."""
_SHORT = tuple(b >> 1 if b < 128 and not b & 1 else -1 for b in range(256))
"""A length of one byte (under 64) by the byte; -1: a longer or a negative one."""
_LONG_BITS = 70


def _setter(slot: str) -> Callable[[BaseModel, Any], None]:
    # Through the slot's descriptor: a call through object.__setattr__ costs more (its
    # arguments are unpacked from a tuple).
    setter: Callable[[BaseModel, Any], None] = vars(BaseModel)[slot].__set__
    return setter


SLOTS = {
    "_dict": _setter("__dict__"),
    "_fields_set": _setter("__pydantic_fields_set__"),
    "_extra": _setter("__pydantic_extra__"),
    "_private": _setter("__pydantic_private__"),
}
"""Setters of a model's slots, for making one without validating it (see
:func:`~agentdeck.contracts.made`)."""


class Unreadable(Exception):
    """This reader cannot read the message exactly as fastavro would."""


class _Generator:
    """Writes the body of one reader function, a statement per line.

    Varints of one byte (lengths under 64, small numbers, union and enum
    indexes) are read inline; calls cost more than the reading here.
    """

    def __init__(self, named: dict[str, Any], *, typed: bool) -> None:
        self.named = named
        self.typed = typed
        """Records are made as models: each read is given the annotation of what it reads."""
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self._ids = count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def emit(self, indent: int, *lines: str) -> None:
        self.lines += ["    " * indent + line for line in lines]

    def read(self, schema: Any, target: str, indent: int, ann: Any = None) -> None:
        """Statements that read ``schema`` into the variable ``target`` (typed: of ``ann``)."""
        if isinstance(schema, list):
            self._union(schema, target, indent, ann)
        elif isinstance(schema, dict):
            self._complex(schema, target, indent, ann)
        elif isinstance(schema, str) and schema in self.named:
            self.read(self.named[schema], target, indent, ann)
        elif schema not in _PRIMITIVE or (self.typed and ann is not _PRIMITIVE[schema]):
            raise Unreadable
        elif schema in ("int", "long"):
            self._long(target, indent)
        elif schema in ("string", "bytes"):
            # A slice past the end is cut short, not refused: what follows it reads past the
            # end and is refused, and so is a record that ends past the end (checked last).
            self.emit(
                indent,
                "n = _SHORT[data[pos]]",
                "if n >= 0: pos += 1  # a length under 64, in one byte",
                "else:",
            )
            self._long("n", indent + 1)
            self.emit(indent + 1, "if n < 0: raise Unreadable")
            self.emit(indent, "end = pos + n")
            if schema == "bytes":
                self.emit(indent, f"{target} = data[pos:end]; pos = end")
                return
            # Text: sliced from the message read once as Latin-1, where every byte is one
            # character; what is ASCII there is the same in UTF-8, the rest is decoded.
            self.emit(
                indent,
                f"{target} = text[pos:end]",
                f"if not {target}.isascii(): {target} = data[pos:end].decode()",
                "pos = end",
            )
        elif schema == "boolean":
            self.emit(
                indent,
                "b = data[pos]; pos += 1",
                "if b > 1: raise Unreadable",
                f"{target} = b == 1",
            )
        else:
            self.emit(indent, f"{target} = None")

    def _long(self, target: str, indent: int) -> None:
        """Reads a varint into ``target``: one or two bytes at once, longer ones (timestamps)
        in a loop; a varint of more than 64 bits is refused, as fastavro refuses it."""
        self.emit(
            indent,
            "b = data[pos]",
            f"if b < 128: {target} = _ZIGZAG[b]; pos += 1",
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

    def _complex(self, schema: dict[str, Any], target: str, indent: int, ann: Any) -> None:
        kind = schema["type"]
        if "logicalType" in schema:
            if (kind, schema["logicalType"]) != ("long", "timestamp-micros"):
                raise Unreadable
            if self.typed and ann not in (datetime, AwareDatetime):
                raise Unreadable
            self._long(target, indent)
            self.emit(indent, f"{target} = _EPOCH + _timedelta(0, 0, {target})")  # days, s, µs
        elif kind == "record":
            self._record(schema, target, indent, ann)
        elif kind == "enum":
            if len(schema["symbols"]) > 64:  # the index would not always fit in one byte
                raise Unreadable
            symbols = self.name("symbols")
            values = _symbols(schema["symbols"], ann if self.typed else None)
            # By the index's byte (zig-zag: 0, 2, 4...): any other byte is a KeyError, refused.
            self.constants[symbols] = {2 * i: value for i, value in enumerate(values)}
            self.emit(indent, f"{target} = {symbols}[data[pos]]; pos += 1")
        elif kind == "array":
            self._array(schema["items"], target, indent, ann)
        else:
            self.read(kind, target, indent, ann)

    def _record(self, schema: dict[str, Any], target: str, indent: int, ann: Any) -> None:
        fields = [f["name"] for f in schema["fields"]]
        if self.typed and not _made_from(ann, fields):
            raise Unreadable
        values = []
        for field in schema["fields"]:
            value = self.name("v")
            inner = ann.model_fields[field["name"]].annotation if self.typed else None
            self.read(field["type"], value, indent, inner)
            values.append(f"{field['name']!r}: {value}")
        if not self.typed:
            self.emit(indent, f"{target} = {{{', '.join(values)}}}")
            return
        model = self.name("model")
        self.constants[model] = ann
        if ann.model_config.get("frozen"):  # never added to: one set shared by all its records
            fields_set = self.name("fields")
            self.constants[fields_set] = set(fields)
        else:
            fields_set = f"{{{', '.join(map(repr, fields))}}}"
        self.emit(
            indent,
            f"{target} = _new({model})",
            f"_dict({target}, {{{', '.join(values)}}})",
            f"_fields_set({target}, {fields_set})",
            f"_extra({target}, None)",
            f"_private({target}, None)",
        )

    def _union(self, branches: list[Any], target: str, indent: int, ann: Any) -> None:
        anns = _branches(ann, branches) if self.typed else [None] * len(branches)
        self.emit(indent, "b = data[pos]; pos += 1")  # the index, zig-zag: 0, 2, 4...
        for i, (branch, inner) in enumerate(zip(branches, anns, strict=True)):
            self.emit(indent, f"{'if' if i == 0 else 'elif'} b == {2 * i}:")
            self.read(branch, target, indent + 1, inner)
        self.emit(indent, "else: raise Unreadable")

    def _array(self, items: Any, target: str, indent: int, ann: Any) -> None:
        inner = None
        if self.typed:
            args = typing.get_args(ann)
            if typing.get_origin(ann) is not tuple or len(args) != 2 or args[1] is not Ellipsis:
                raise Unreadable
            inner = args[0]
        size, item = self.name("n"), self.name("item")
        self.emit(indent, f"{target} = []")
        self._long(size, indent)
        self.emit(indent, f"while {size}:")
        self.emit(indent + 1, f"if {size} < 0:")
        self.emit(indent + 2, f"{size} = -{size}")
        self._long("_", indent + 2)
        self.emit(indent + 1, f"for _ in range({size}):")
        self.read(items, item, indent + 2, inner)
        self.emit(indent + 2, f"{target}.append({item})")
        self._long(size, indent + 1)
        if self.typed:
            self.emit(indent, f"{target} = tuple({target})")


def _made_from(model: Any, fields: list[str]) -> bool:
    """Whether ``model`` is a plain model of exactly the record's fields, in its order."""
    return (
        isinstance(model, type)
        and issubclass(model, BaseModel)
        and not model.__private_attributes__
        and model.model_config.get("extra") == "forbid"
        and list(model.model_fields) == fields
    )


def _symbols(symbols: list[str], enum: Any) -> tuple[object, ...]:
    """The enum's symbols, or (typed) its members in the schema's order."""
    if enum is None:
        return tuple(symbols)
    if not (isinstance(enum, type) and issubclass(enum, Enum)):
        raise Unreadable
    members = {member.value: member for member in enum}
    if not set(symbols) <= members.keys():
        raise Unreadable
    return tuple(members[symbol] for symbol in symbols)


def _branches(ann: Any, branches: list[Any]) -> list[Any]:
    """The annotation of each branch of a union: ``X | None`` over ``["null", X]``."""
    if typing.get_origin(ann) not in (typing.Union, types.UnionType):
        raise Unreadable
    kinds = [a for a in typing.get_args(ann) if a is not _NONE]
    if len(branches) != 2 or "null" not in branches or len(kinds) != 1:
        raise Unreadable
    return [_NONE if branch == "null" else kinds[0] for branch in branches]


def compile_reader(parsed: dict[str, Any], model: type[BaseModel] | None = None) -> Reader | None:
    """The reader of a record schema parsed by fastavro; None if it uses what is not handled.

    With ``model``, the reader makes ``model`` (None: the model does not match the schema).
    """
    generator = _Generator(parsed.get("__named_schemas", {}), typed=model is not None)
    try:
        generator.read(parsed, "record", 1, model)
    except Unreadable:
        return None
    source = "\n".join(
        [
            "def read(data, pos):",
            "    size = len(data)",
            "    text = data.decode('latin-1')",
            "    try:",
            *("    " + line for line in generator.lines),
            # Past the end, a timestamp out of range: fastavro reads it and says what is wrong.
            "    except Exception:",
            "        raise Unreadable from None",
            "    if pos > size: raise Unreadable  # its last text or bytes were cut short",
            "    return record, pos",
        ]
    )
    namespace: dict[str, Any] = {
        "_SHORT": _SHORT,
        "_ZIGZAG": _ZIGZAG,
        "_EPOCH": _EPOCH,
        "_timedelta": timedelta,
        "_new": object.__new__,
        **SLOTS,
        "Unreadable": Unreadable,
        **generator.constants,
    }
    name = parsed.get("name") if model is None else f"{parsed.get('name')} as {model.__name__}"
    exec(compile(source, f"<avro reader of {name}>", "exec"), namespace)  # noqa: S102 -- generated from our own schemas
    reader: Reader = namespace["read"]
    return reader
