"""Personal data fields, as the schemas mark them, sealed on the wire and opened on read.

A field annotated ``"agentdeck.sensitive": true`` in a schema (at any depth:
inside nested records and arrays of records too) holds personal data; on a
field of a shared record type, ``"agentdeck.sensitive": ["message"]`` marks
just those of its fields, in this place only: a codec
with a :class:`FieldCipher` seals its value before the bytes leave the
process, and opens it when it reads them. A field annotated
``"agentdeck.subject": true`` names the data subject whose key seals the
record's sensitive fields; records without one are sealed under their run's
subject. The annotations are not part of Avro's parsing canonical form, so
marking a field never changes a schema's fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agentdeck.contracts._registry import SchemaRegistry

__all__ = ["SENSITIVE", "SUBJECT", "FieldCipher", "SensitiveFields"]

SENSITIVE = "agentdeck.sensitive"
SUBJECT = "agentdeck.subject"

Path = tuple[str, ...]


class FieldCipher(Protocol):
    """Seals and opens one field value; implemented by :mod:`agentdeck.privacy`."""

    def seal(
        self, value: str, *, tenant: str, run_id: str, subject: str | None, event_id: str, path: str
    ) -> str:
        """The sealed form of ``value`` (a sealed value is returned unchanged)."""
        ...

    def open(self, value: str, *, event_id: str, path: str) -> str:
        """The clear form of ``value``; a value that cannot be opened (erased) is returned as is."""
        ...

    def prefetch(self, records: Sequence[bytes]) -> None:
        """Make ready, at once, the keys the sealed values in ``records`` (encoded) name."""
        ...

    def prefetch_runs(self, runs: Collection[tuple[str, str]]) -> None:
        """Make ready, at once, the keys of ``(run id, tenant)`` runs' data."""
        ...


@dataclass(frozen=True)
class _Marks:
    paths: tuple[Path, ...]
    subject: str | None


class SensitiveFields:
    """Which fields of each event type are personal data, read from the schemas' annotations."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._marks: dict[str, _Marks] = {}
        for name in registry.names():
            paths: set[Path] = set()
            subject: str | None = None
            for version in registry.versions():
                if version.full_name != name:
                    continue
                parsed = version.parsed
                named = parsed.get("__named_schemas", {})
                paths.update(_walk(parsed, named, ()))
                subject = subject or next(
                    (f["name"] for f in parsed["fields"] if f.get(SUBJECT)), None
                )
            if paths:
                self._marks[name] = _Marks(tuple(sorted(paths)), subject)

    def paths(self, event_type: str) -> tuple[Path, ...]:
        """The sensitive field paths of ``event_type`` (empty if it has none)."""
        marks = self._marks.get(event_type)
        return marks.paths if marks is not None else ()

    def has(self, event_type: str) -> bool:
        """Whether ``event_type`` has any sensitive field."""
        return event_type in self._marks

    def seal(self, event_type: str, record: dict[str, Any], cipher: FieldCipher) -> int:
        """Seal ``record``'s sensitive values in place; how many were in the clear."""
        marks = self._marks.get(event_type)
        if marks is None:
            return 0
        changed = 0
        envelope = record["envelope"]
        event_id = envelope["event_id"]
        run_id = envelope.get("run_id") or event_id
        subject = record.get(marks.subject) if marks.subject else None

        def seal(value: str, path: str) -> str:
            nonlocal changed
            sealed = cipher.seal(
                value,
                tenant=envelope["tenant"],
                run_id=run_id,
                subject=subject,
                event_id=event_id,
                path=path,
            )
            changed += sealed != value
            return sealed

        for path in marks.paths:
            _apply(record, path, seal)
        return changed

    def open(self, event_type: str, record: dict[str, Any], cipher: FieldCipher) -> None:
        """Open ``record``'s sealed values in place; values that cannot be opened stay sealed."""
        marks = self._marks.get(event_type)
        if marks is None:
            return
        event_id = record["envelope"]["event_id"]
        for path in marks.paths:
            _apply(record, path, lambda value, at: cipher.open(value, event_id=event_id, path=at))

    def values(self, event_type: str, record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """Every sensitive (path, value) of ``record``, for checks and reports."""
        for path in self.paths(event_type):
            yield from _values(record, path, ".".join(path))


def _walk(schema: Any, named: Mapping[str, Any], at: Path) -> Iterator[Path]:
    if isinstance(schema, str):
        if schema in named and len(at) < 8:  # bounded: recursive types
            yield from _walk(named[schema], named, at)
        return
    if isinstance(schema, list):
        for branch in schema:
            yield from _walk(branch, named, at)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind == "record":
        for field in schema["fields"]:
            path = (*at, field["name"])
            marked = field.get(SENSITIVE)
            if isinstance(marked, list):  # a shared record: only these of its fields, here
                yield from ((*path, name) for name in marked)
            elif marked:
                yield path
            else:
                yield from _walk(field["type"], named, path)
    elif kind == "array":
        yield from _walk(schema["items"], named, at)
    elif isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind in named):
        yield from _walk(kind, named, at)


def _apply(node: Any, path: Path, fn: Callable[[str, str], str]) -> None:
    """Replace every string value at ``path`` (through nested records and arrays) by ``fn``."""
    if isinstance(node, list):
        for item in node:
            _apply(item, path, fn)
        return
    if not isinstance(node, dict) or not path:
        return
    head, rest = path[0], path[1:]
    value = node.get(head)
    if rest:
        if isinstance(value, tuple):  # a model's dump keeps tuples: made a list to change it
            value = node[head] = list(value)
        _apply(value, rest, fn)
    elif isinstance(value, str):
        node[head] = fn(value, ".".join(path))


def _values(node: Any, path: Path, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from _values(item, path, name)
        return
    if not isinstance(node, Mapping) or not path:
        return
    value = node.get(path[0])
    if len(path) > 1:
        yield from _values(value, path[1:], name)
    elif isinstance(value, str):
        yield name, value
