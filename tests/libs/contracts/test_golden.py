from pathlib import Path

import pytest

from agentdeck.contracts import SchemaRegistry, default_codec
from agentdeck.contracts.examples import example_message

GOLDEN = Path(__file__).parents[2] / "golden" / "events"
VERSIONS = SchemaRegistry.load().versions()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.full_name}.v{v.version}")
def test_every_schema_version_has_a_golden_sample(version):
    path = GOLDEN / f"{version.full_name.rpartition('.')[2]}.v{version.version}.bin"
    assert path.exists(), f"missing {path}: run python tests/golden/regenerate.py"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.bin")), ids=lambda p: p.name)
def test_every_golden_sample_still_decodes(path):
    codec = default_codec()
    event = codec.decode(path.read_bytes())
    writer = codec.registry.by_fingerprint(path.read_bytes()[2:10])
    assert writer is not None
    assert event.envelope.event_type == writer.full_name
    if codec.registry.latest(writer.full_name) is writer:
        assert codec.encode(event) == example_message(writer)
