"""Schema evolution check: every version of a record against all its earlier ones.

Uses the Apache ``avro`` package's reader/writer compatibility checker and
demands FULL_TRANSITIVE compatibility: a new reader reads every old writer
(consumers upgrade first) and every old reader reads the new writer
(producers upgrade first). ``python -m agentdeck.contracts.compat`` exits 1 on
any incompatibility; CI runs it through a test.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from agentdeck.contracts._files import SchemaSource, load_sources

__all__ = ["Incompatibility", "check_compatibility"]


@dataclass(frozen=True)
class Incompatibility:
    """One reader that cannot read one writer."""

    name: str
    reader_version: int
    writer_version: int
    details: str

    def __str__(self) -> str:
        return (
            f"{self.name}: v{self.reader_version} cannot read v{self.writer_version} "
            f"({self.details})"
        )


def _problem(reader: SchemaSource, writer: SchemaSource) -> Incompatibility | None:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader.schema)), avro.schema.parse(json.dumps(writer.schema))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return None
    kinds = ", ".join(sorted(k.value for k in result.incompatibilities))
    where = ", ".join(sorted(result.locations))
    return Incompatibility(reader.full_name, reader.version, writer.version, f"{kinds} at {where}")


def check_compatibility(root: Path | None = None) -> list[Incompatibility]:
    """Every incompatibility between versions of the same record (empty = all good)."""
    by_name: dict[str, list[SchemaSource]] = {}
    for source in load_sources(root):
        by_name.setdefault(source.full_name, []).append(source)
    problems: list[Incompatibility] = []
    for versions in by_name.values():
        for old, new in combinations(sorted(versions, key=lambda s: s.version), 2):
            for reader, writer in ((new, old), (old, new)):
                problem = _problem(reader, writer)
                if problem is not None:
                    problems.append(problem)
    return problems


def main() -> int:
    """Print every incompatibility; exit status 1 if there is one."""
    problems = check_compatibility()
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
