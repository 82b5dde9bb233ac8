"""Write golden samples for schema versions that have none yet.

Run ``python tests/golden/regenerate.py`` after adding a schema version. It
never overwrites a sample: released samples are frozen, and must keep decoding.
"""

from __future__ import annotations

from pathlib import Path

from agentdeck.contracts import SchemaRegistry
from agentdeck.contracts.examples import example_message

GOLDEN = Path(__file__).parent / "events"


def golden_path(full_name: str, version: int) -> Path:
    """Where the sample of one version lives."""
    return GOLDEN / f"{full_name.rpartition('.')[2]}.v{version}.bin"


def main() -> None:
    """Write the missing samples and list them."""
    for version in SchemaRegistry.load().versions():
        path = golden_path(version.full_name, version.version)
        if not path.exists():
            path.write_bytes(example_message(version))
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
