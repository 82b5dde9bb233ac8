"""Records built from values already of their fields' types, without validating them again.

Validation belongs where values enter: a decoded message, a request, a stored
state read back. Inside a service, a record made from other records' fields
(an envelope from its cause, a step's state from the last one) holds values
of the right types by construction, and validating them again is most of what
building such a record costs on a hot path (the planner's decisions, replay).

:func:`built` and :func:`updated` fill a model's fields as pydantic's own
constructor would (defaults, the fields set) and check the field names, not
the values: callers pass values typed as the fields are (mypy checks the
call sites that name their fields).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from agentdeck.contracts._reader import SLOTS

__all__ = ["built", "made", "updated"]

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_dict = SLOTS["_dict"]
_fields_set = SLOTS["_fields_set"]
_extra = SLOTS["_extra"]
_private = SLOTS["_private"]
_UNSET: Any = object()


@dataclass(frozen=True)
class _Shape:
    """What building a model needs: its fields in order, the required ones, the defaults."""

    template: dict[str, Any]
    """Every field in declaration order: its default, or ``_UNSET`` if it is required or made."""
    names: frozenset[str]
    required: frozenset[str]
    made: tuple[tuple[str, Callable[[], Any]], ...]
    """Fields whose default is made anew for each record (a factory, a mutable default)."""
    frozen: bool
    """Its records are never assigned to, so never add to their fields set: it is shared."""
    every: set[str]
    """Every field: the fields set of all its records given every field."""


_SHAPES: dict[type[BaseModel], _Shape] = {}


def _shape(cls: type[BaseModel]) -> _Shape:
    shape = _SHAPES.get(cls)
    if shape is not None:
        return shape
    if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__} has private or extra attributes: build it validated")
    template: dict[str, Any] = {}
    required: set[str] = set()
    made: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        template[name] = _UNSET
        if info.is_required():
            required.add(name)
        elif info.default_factory is not None:
            made.append((name, info.default_factory))  # type: ignore[arg-type]
        elif isinstance(info.default, (dict, list, set)):  # pydantic copies these too
            made.append((name, _copier(info.default)))
        else:
            template[name] = info.default
    frozen = bool(cls.model_config.get("frozen"))
    names = frozenset(template)
    shape = _Shape(template, names, frozenset(required), tuple(made), frozen, set(names))
    _SHAPES[cls] = shape
    return shape


def _copier(default: object) -> Callable[[], Any]:
    return lambda: copy.deepcopy(default)


def built(cls: type[M], fields: Mapping[str, Any]) -> M:
    """``cls(**fields)`` without validating the values: for values of the fields' own types.

    Fields left out take their defaults; the fields set are those given, as
    pydantic records them. A name ``cls`` does not have, or a required field
    left out, raises :class:`TypeError`.
    """
    shape = _SHAPES.get(cls) or _shape(cls)
    if len(fields) == len(shape.names) and shape.names.issuperset(fields):  # every field
        # Their fields set is every field, which an assignment cannot add to: one, shared.
        return made(cls, {**shape.template, **fields}, shape.every)  # in declaration order
    if not shape.names.issuperset(fields) or not shape.required.issubset(fields):
        unknown = sorted(set(fields) - shape.names)
        missing = sorted(shape.required - set(fields))
        raise TypeError(f"{cls.__name__}: unknown fields {unknown}, missing fields {missing}")
    values = {**shape.template, **fields}
    for name, make in shape.made:
        if name not in fields:
            values[name] = make()
    return made(cls, values, set(fields))


def made(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """An instance of ``cls`` whose fields are ``values`` (every one, in declaration order)
    and whose fields set is ``fields_set``: nothing is checked or copied."""
    record = _new(cls)
    _dict(record, values)
    _fields_set(record, fields_set)
    _extra(record, None)
    _private(record, None)
    return record


def updated(record: M, changes: Mapping[str, Any]) -> M:
    """``record.model_copy(update=changes)``, for values of the fields' own types.

    A name the record's model does not have raises :class:`TypeError` (pydantic's
    copy would add it as a field).
    """
    cls = type(record)
    shape = _SHAPES.get(cls) or _shape(cls)
    if not shape.names.issuperset(changes):
        raise TypeError(f"{cls.__name__}: unknown fields {sorted(set(changes) - shape.names)}")
    fields_set = record.__pydantic_fields_set__
    if not fields_set.issuperset(changes):
        fields_set = fields_set | changes.keys()
    elif not shape.frozen:
        fields_set = set(fields_set)  # a model that can be assigned to adds to its own set
    return made(cls, {**record.__dict__, **changes}, fields_set)  # frozen: shared, unchanged
