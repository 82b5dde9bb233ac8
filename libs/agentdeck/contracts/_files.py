"""Finding and expanding the ``.avsc`` files of ``schemas/``.

Layout: ``common/<Name>.avsc`` holds shared named types; ``events/<Name>.v<N>.avsc``
holds version N of an event record; ``history/<Name>.v<N>.avsc`` holds fully
expanded, frozen copies of superseded versions whose shared types have since
changed. Event files refer to shared types by full name; :func:`load_sources`
inlines them, so every version is self-contained and has a stable fingerprint.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdeck.contracts.errors import SchemaError

_VERSIONED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


@dataclass(frozen=True)
class SchemaSource:
    """One version of one event schema, expanded into a self-contained JSON schema."""

    full_name: str
    version: int
    schema: dict[str, Any]
    path: Path
    frozen: bool


def schema_dir() -> Path:
    """The installed copy of ``schemas/`` if present, else the source checkout's."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parents[2] / "schemas"):
        if (candidate / "events").is_dir():
            return candidate
    raise SchemaError(f"no schemas directory found next to {here}")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or "name" not in data:
        raise SchemaError(f"{path}: a schema file must hold one named type")
    return data


def full_name(schema: dict[str, Any], namespace: str | None = None) -> str:
    """Avro full name of a named schema, honouring an enclosing namespace."""
    name = str(schema["name"])
    if "." in name:
        return name
    ns = schema.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


def _inline(node: Any, defs: dict[str, dict[str, Any]], seen: set[str], ns: str | None) -> Any:
    """Replace references to shared types by their definition (first use only)."""
    if isinstance(node, str):
        if node in _PRIMITIVES or node in seen or node not in defs:
            return node
        seen.add(node)
        return _inline(copy.deepcopy(defs[node]), defs, seen, ns)
    if isinstance(node, list):
        return [_inline(item, defs, seen, ns) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in ("record", "enum", "fixed"):
        name = full_name(node, ns)
        seen.add(name)
        ns = name.rpartition(".")[0] or None
    out = dict(node)
    for key in ("type", "items", "values", "fields"):
        if key in out:
            out[key] = _inline(out[key], defs, seen, ns)
    return out


def load_common(root: Path) -> dict[str, dict[str, Any]]:
    """Shared named types by full name."""
    return {full_name(s): s for s in map(_read, sorted((root / "common").glob("*.avsc")))}


def load_sources(root: Path | None = None) -> list[SchemaSource]:
    """Every event schema version under ``root``, expanded and ordered by name, version."""
    root = root or schema_dir()
    defs = load_common(root)
    found: list[SchemaSource] = []
    for folder, frozen in (("events", False), ("history", True)):
        for path in sorted((root / folder).glob("*.avsc")):
            match = _VERSIONED.match(path.name)
            if match is None:
                raise SchemaError(f"{path}: expected a file name like GoalSubmitted.v1.avsc")
            raw = _read(path)
            if str(raw["name"]).rpartition(".")[2] != match["name"]:
                raise SchemaError(f"{path}: record name {raw['name']!r} differs from file name")
            schema = _inline(raw, defs, set(), None) if not frozen else raw
            found.append(SchemaSource(full_name(raw), int(match["version"]), schema, path, frozen))
    return sorted(found, key=lambda s: (s.full_name, s.version))
