"""A small JSON Schema validator for the vendored Compose and Kubernetes schemas.

It implements every keyword those schemas use (``SUPPORTED`` and ``IGNORED``
list them); ``unsupported_keywords`` lets a test prove that nothing in a
schema goes unchecked. Annotations (descriptions, formats, Kubernetes
extensions) are ignored, as a validator may.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["IGNORED", "SUPPORTED", "errors", "unsupported_keywords"]

SUPPORTED = frozenset(
    {
        "$ref", "type", "enum", "const", "properties", "patternProperties",
        "additionalProperties", "required", "items", "minItems", "uniqueItems",
        "oneOf", "anyOf", "allOf", "not", "minimum", "maximum", "pattern", "minLength",
    }
)  # fmt: skip
IGNORED = frozenset(
    {
        "$schema", "$id", "id", "title", "description", "format", "deprecated", "default",
        "examples", "x-kubernetes-group-version-kind", "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-patch-merge-key",
        "x-kubernetes-patch-strategy", "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
        "x-kubernetes-unions",
    }
)  # fmt: skip
_CONTAINERS = {"properties", "patternProperties", "definitions", "$defs"}
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def unsupported_keywords(schema: Any) -> set[str]:
    """Keywords in ``schema`` that this validator neither checks nor may ignore."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in _CONTAINERS and isinstance(value, dict):
                for sub in value.values():
                    found |= unsupported_keywords(sub)
                continue
            if key in IGNORED or key in {"enum", "const", "required"}:
                continue
            if key not in SUPPORTED:
                found.add(key)
            found |= unsupported_keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= unsupported_keywords(item)
    return found


def errors(instance: Any, schema: Any, root: Any = None, path: str = "$") -> Iterator[str]:
    """Every violation of ``schema`` by ``instance``, each as ``path: message``."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return
    if schema is False:
        yield f"{path}: not allowed"
        return
    if "$ref" in schema:
        yield from errors(instance, _resolve(root, schema["$ref"]), root, path)
    yield from _type_and_values(instance, schema, path)
    yield from _combinators(instance, schema, root, path)
    if isinstance(instance, dict):
        yield from _object(instance, schema, root, path)
    if isinstance(instance, list):
        yield from _array(instance, schema, root, path)


def _resolve(root: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _is(instance: Any, kind: str) -> bool:
    if isinstance(instance, bool) and kind != "boolean":
        return False
    if kind == "number" and isinstance(instance, float):
        return True
    return isinstance(instance, _TYPES[kind])


def _type_and_values(instance: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(instance, k) for k in kinds):
            yield f"{path}: {instance!r} is not of type {'/'.join(kinds)}"
            return
    if "enum" in schema and instance not in schema["enum"]:
        yield f"{path}: {instance!r} is not one of {schema['enum']}"
    if "const" in schema and instance != schema["const"]:
        yield f"{path}: {instance!r} is not {schema['const']!r}"
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            yield f"{path}: {instance!r} does not match {schema['pattern']}"
        if len(instance) < schema.get("minLength", 0):
            yield f"{path}: shorter than {schema['minLength']}"
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            yield f"{path}: {instance} is below {schema['minimum']}"
        if "maximum" in schema and instance > schema["maximum"]:
            yield f"{path}: {instance} is above {schema['maximum']}"


def _combinators(instance: Any, schema: dict[str, Any], root: Any, path: str) -> Iterator[str]:
    for sub in schema.get("allOf", ()):
        yield from errors(instance, sub, root, path)
    if "anyOf" in schema and not any(_valid(instance, s, root, path) for s in schema["anyOf"]):
        yield f"{path}: matches none of anyOf"
    if "oneOf" in schema:
        matches = sum(_valid(instance, s, root, path) for s in schema["oneOf"])
        if matches != 1:
            yield f"{path}: matches {matches} of oneOf, not exactly one"
    if "not" in schema and _valid(instance, schema["not"], root, path):
        yield f"{path}: matches a schema it must not"


def _valid(instance: Any, schema: Any, root: Any, path: str) -> bool:
    return next(errors(instance, schema, root, path), None) is None


def _object(
    instance: dict[str, Any], schema: dict[str, Any], root: Any, path: str
) -> Iterator[str]:
    for name in schema.get("required", ()):
        if name not in instance:
            yield f"{path}: {name!r} is required"
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    for key, value in instance.items():
        where = f"{path}.{key}"
        matched = False
        if key in properties:
            matched = True
            yield from errors(value, properties[key], root, where)
        for pattern, sub in patterns.items():
            if re.search(pattern, key):
                matched = True
                yield from errors(value, sub, root, where)
        if not matched:
            if extra is False:
                yield f"{where}: unknown field"
            elif isinstance(extra, dict):
                yield from errors(value, extra, root, where)


def _array(instance: list[Any], schema: dict[str, Any], root: Any, path: str) -> Iterator[str]:
    items = schema.get("items")
    if isinstance(items, dict):
        for index, value in enumerate(instance):
            yield from errors(value, items, root, f"{path}[{index}]")
    if len(instance) < schema.get("minItems", 0):
        yield f"{path}: fewer than {schema['minItems']} items"
    if schema.get("uniqueItems") and len({repr(v) for v in instance}) != len(instance):
        yield f"{path}: items are not unique"
