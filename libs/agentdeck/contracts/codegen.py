"""Generate the typed event models from ``schemas/``.

``python -m agentdeck.contracts.codegen`` rewrites ``models.py``;
``--check`` exits 1 if the checked-in module differs from what the schemas
give (CI runs it through a test, so the models can never drift).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agentdeck.contracts._files import full_name, load_common, load_sources, schema_dir

MODELS_PATH = Path(__file__).with_name("models.py")

#: Named types defined elsewhere in the code base instead of generated.
EXTERNAL = {"agentdeck.common.ErrorCategory": "ErrorCategory"}

_SCALARS = {
    "string": "str",
    "int": "int",
    "long": "int",
    "boolean": "bool",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "null": "None",
}

_HEADER = '''"""Typed models of every event, generated from ``schemas/``; do not edit.

Regenerate with ``python -m agentdeck.contracts.codegen``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime

from agentdeck.contracts._base import Record
from agentdeck.errors import ErrorCategory

__all__ = [
{names}
]
'''


class _Generator:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.names: list[str] = []
        self.done: set[str] = set(EXTERNAL)

    def type_of(self, node: Any, ns: str | None) -> str:
        if isinstance(node, list):
            inner = [self.type_of(n, ns) for n in node if n != "null"]
            return " | ".join(inner) + (" | None" if "null" in node else "")
        if isinstance(node, str):
            if node in _SCALARS:
                return _SCALARS[node]
            return EXTERNAL.get(node, node.rpartition(".")[2])
        kind = node["type"]
        if node.get("logicalType") == "timestamp-micros":
            return "AwareDatetime"
        if kind == "array":
            return f"tuple[{self.type_of(node['items'], ns)}, ...]"
        if kind == "map":
            return f"dict[str, {self.type_of(node['values'], ns)}]"
        if kind in ("record", "enum"):
            return self.named(node, ns)
        return self.type_of(kind, ns)

    def named(self, node: dict[str, Any], ns: str | None) -> str:
        name = full_name(node, ns)
        short = EXTERNAL.get(name, name.rpartition(".")[2])
        if name not in self.done:
            self.done.add(name)
            emit = self.enum if node["type"] == "enum" else self.record
            emit(node, short, name.rpartition(".")[0])
        return short

    def enum(self, node: dict[str, Any], short: str, _ns: str) -> None:
        lines = [f"class {short}(StrEnum):", f'    """{node.get("doc", short)}"""', ""]
        lines += [f'    {s} = "{s}"' for s in node["symbols"]]
        self.blocks.append("\n".join(lines))
        self.names.append(short)

    def record(self, node: dict[str, Any], short: str, ns: str, extra: str = "") -> None:
        body = [self.field(f, ns) for f in node["fields"]]
        base = "Event" if extra else "Record"
        lines = [f"class {short}({base}):", f'    """{node.get("doc", short)}"""', ""]
        self.blocks.append("\n".join(lines + ([extra] if extra else []) + body))
        self.names.append(short)

    def field(self, spec: dict[str, Any], ns: str) -> str:
        annotation = self.type_of(spec["type"], ns)
        default = ""
        if "default" in spec:
            value = spec["default"]
            default = " = ()" if value == [] else f" = {value!r}"
        return f'    {spec["name"]}: {annotation}{default}\n    """{spec.get("doc", "")}"""'

    def event(self, schema: dict[str, Any], version: int) -> None:
        name = full_name(schema)
        self.done.add(name)
        extra = (
            f'    EVENT_TYPE: ClassVar[str] = "{name}"\n'
            f"    SCHEMA_VERSION: ClassVar[int] = {version}\n"
        )
        self.record(schema, name.rpartition(".")[2], name.rpartition(".")[0], extra)


_EVENT_BASE = '''class Event(Record):
    """Base of every event: the envelope plus the event's own fields."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    envelope: Envelope
    """Ids, causation, tenant, producer, time and trace context."""'''


def render(root: Path | None = None) -> str:
    """The source of ``models.py`` for the schemas under ``root``."""
    root = root or schema_dir()
    gen = _Generator()
    for name, schema in load_common(root).items():
        gen.named(schema, name.rpartition(".")[0])
    gen.blocks.append(_EVENT_BASE)
    gen.names.append("Event")
    latest = {s.full_name: s for s in load_sources(root) if not s.frozen}
    for source in latest.values():
        gen.event(source.schema, source.version)
    names = "\n".join(f'    "{n}",' for n in sorted(gen.names))
    return _HEADER.format(names=names) + "\n\n" + "\n\n\n".join(gen.blocks) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) the generated models."""
    source = render()
    if "--check" in argv:
        current = MODELS_PATH.read_text(encoding="utf-8") if MODELS_PATH.exists() else ""
        if current != source:
            sys.stderr.write(f"{MODELS_PATH} is out of date with schemas/; regenerate it\n")
            return 1
        return 0
    MODELS_PATH.write_text(source, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
