"""Compiled builders: the event model made from a decoded record without validating it again.

The models are generated from the schemas, so a record an Avro reader has
read (strings, numbers, bytes, UTC datetimes, enum symbols, lists, nested
records) already holds every value its model's fields accept; what
validation adds is the conversions (a symbol to its enum member, a list to
a tuple, a nested dict to its model). A builder generated once per model
does just those, and checks the record has exactly the model's fields.

Anything a builder cannot convert exactly (a symbol its enum lacks, a field
missing or extra, a type it does not handle) makes it raise
:class:`Unbuildable`, and the caller validates the record with pydantic,
which also says what is wrong with it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from itertools import count
from typing import Any

from pydantic import AwareDatetime, BaseModel

from agentdeck.contracts._built import made

__all__ = ["Builder", "Unbuildable", "compile_builder"]

Builder = Callable[[dict[str, Any]], BaseModel]

_PLAIN = (str, int, bool, bytes, datetime, AwareDatetime)  # Avro reads timestamps as UTC


class Unbuildable(Exception):
    """This builder cannot make the model from the record exactly as validation would."""


def _make(cls: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    return made(cls, values, set(values))


class _Generator:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, object] = {"_make": _make, "Unbuildable": Unbuildable}
        self.done: dict[type[BaseModel], str] = {}
        self._ids = count()

    def constant(self, prefix: str, value: object) -> str:
        name = f"{prefix}{next(self._ids)}"
        self.constants[name] = value
        return name

    def model(self, cls: type[BaseModel]) -> str:
        """The name of the function building ``cls`` from a dict, generated once."""
        if cls in self.done:
            return self.done[cls]
        if cls.__private_attributes__ or cls.model_config.get("extra") != "forbid":
            raise Unbuildable
        name = self.done[cls] = f"build_{cls.__name__}_{next(self._ids)}"
        fields = cls.model_fields
        values = [
            f"{field!r}: {self.value(info.annotation, f'r[{field!r}]')}"
            for field, info in fields.items()
        ]
        self.lines += [
            f"def {name}(r):",
            f"    if len(r) != {len(fields)}: raise Unbuildable",
            f"    return _make({self.constant('M', cls)}, {{{', '.join(values)}}})",
        ]
        return name

    def value(self, annotation: Any, expr: str) -> str:
        """An expression converting ``expr`` (as read) to a value of ``annotation``."""
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            branches = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(branches) != 1:
                raise Unbuildable
            inner = self.value(branches[0], "v")
            if inner == "v":
                return expr
            return f"(None if (v := {expr}) is None else {inner})"
        if origin is tuple:
            args = typing.get_args(annotation)
            if len(args) != 2 or args[1] is not Ellipsis:
                raise Unbuildable
            item = self.value(args[0], "i")
            return f"tuple({expr})" if item == "i" else f"tuple([{item} for i in {expr}])"
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            members = self.constant("E", {m.value: m for m in annotation})
            return f"{members}[{expr}]"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return f"{self.model(annotation)}({expr})"
        if annotation in _PLAIN:
            return expr
        raise Unbuildable


def compile_builder(model: type[BaseModel]) -> Builder | None:
    """The builder of ``model``; None if a field has a type builders do not handle."""
    generator = _Generator()
    try:
        top = generator.model(model)
    except Unbuildable:
        return None
    source = "\n".join(
        [
            *generator.lines,
            "def build(r):",
            "    try:",
            f"        return {top}(r)",
            # A symbol the enum lacks, a field missing, a list where a record is due.
            "    except Exception:",
            "        raise Unbuildable from None",
        ]
    )
    namespace = dict(generator.constants)
    exec(compile(source, f"<builder of {model.__name__}>", "exec"), namespace)  # noqa: S102 -- generated from our own models
    return typing.cast(Builder, namespace["build"])
