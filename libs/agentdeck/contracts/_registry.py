"""The in-process schema registry: every known writer schema by fingerprint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from agentdeck.contracts._files import SchemaSource, load_sources
from agentdeck.contracts.errors import SchemaError

__all__ = ["SchemaRegistry", "SchemaVersion"]


@dataclass(frozen=True)
class SchemaVersion:
    """One parsed, fingerprinted version of an event schema."""

    full_name: str
    version: int
    source: SchemaSource
    parsed: Any
    canonical: str
    fingerprint: bytes

    @property
    def fingerprint_hex(self) -> str:
        """The fingerprint as 16 hex digits (little-endian byte order, as on the wire)."""
        return self.fingerprint.hex()


def _version_of(source: SchemaSource) -> SchemaVersion:
    try:
        parsed = parse_schema(source.schema, named_schemas={})
    except Exception as exc:  # fastavro reports schema errors with several exception types
        raise SchemaError(f"{source.path}: {exc}") from exc
    canonical = to_parsing_canonical_form(parsed)
    return SchemaVersion(
        source.full_name,
        source.version,
        source,
        parsed,
        canonical,
        bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
    )


class SchemaRegistry:
    """All versions of all event schemas, found by fingerprint or by name.

    The newest version of each record is its *reader* schema; older versions
    are writer schemas that decoding resolves to it.
    """

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        self._latest: dict[str, SchemaVersion] = {}
        self._by_name_version: dict[tuple[str, int], SchemaVersion] = {}
        for version in versions:
            self._add(version)

    @classmethod
    def load(cls, root: Path | None = None) -> SchemaRegistry:
        """Parse every schema under ``root`` (default: the project's ``schemas/``)."""
        return cls(_version_of(source) for source in load_sources(root))

    def _add(self, version: SchemaVersion) -> None:
        key = (version.full_name, version.version)
        if key in self._by_name_version:
            raise SchemaError(f"{version.full_name} v{version.version} is defined twice")
        clash = self._by_fingerprint.get(version.fingerprint)
        if clash is not None:
            raise SchemaError(f"{version.source.path} has the same schema as {clash.source.path}")
        self._by_name_version[key] = version
        self._by_fingerprint[version.fingerprint] = version
        latest = self._latest.get(version.full_name)
        if latest is None or (latest.version < version.version and not version.source.frozen):
            self._latest[version.full_name] = version

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        """The writer schema with this fingerprint, if known."""
        return self._by_fingerprint.get(fp)

    def latest(self, full_name: str) -> SchemaVersion:
        """The reader (newest) version of a record."""
        try:
            return self._latest[full_name]
        except KeyError:
            raise SchemaError(f"no schema for {full_name}") from None

    def get(self, full_name: str, version: int) -> SchemaVersion:
        """One specific version of a record."""
        try:
            return self._by_name_version[(full_name, version)]
        except KeyError:
            raise SchemaError(f"no schema for {full_name} v{version}") from None

    def versions(self) -> list[SchemaVersion]:
        """Every version, ordered by name then version."""
        return sorted(self._by_name_version.values(), key=lambda v: (v.full_name, v.version))

    def names(self) -> list[str]:
        """Every record name."""
        return sorted(self._latest)
