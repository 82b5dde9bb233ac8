"""The planner does not start without what its trust boundary needs."""

import pytest

from agentdeck.contracts import default_codec
from agentdeck.errors import ConfigError
from agentdeck.hotstate import InProcessHotState
from agentdeck.planner.main import build, producer_registry
from agentdeck.planner.settings import PlannerSettings
from agentdeck.settings import ServiceSettings
from agentdeck.store import Store
from testkit.producers import registry

from .test_service import _registry


def _build(engine, **settings):  # type: ignore[no-untyped-def]
    return build(
        PlannerSettings(**settings),
        codec=default_codec(),
        store=Store(engine),
        hot=InProcessHotState(),
        tools=_registry(),
        producers=registry(),
    )


def test_without_a_producer_registry_the_planner_does_not_start():
    with pytest.raises(ConfigError, match="AGENTDECK_PLANNER_PRODUCER_REGISTRY"):
        producer_registry(PlannerSettings())


def test_a_registry_given_twice_is_refused(tmp_path):
    path = tmp_path / "producers.json"
    path.write_text(registry().model_dump_json())
    both = PlannerSettings(producers=registry().model_dump_json(), producer_registry=str(path))
    with pytest.raises(ConfigError, match="not both"):
        producer_registry(both)


def test_an_inline_registry_is_the_same_as_its_file(tmp_path):
    path = tmp_path / "producers.json"
    path.write_text(registry().model_dump_json())
    inline = producer_registry(PlannerSettings(producers=registry().model_dump_json()))
    assert inline.label == producer_registry(PlannerSettings(producer_registry=str(path))).label


def test_without_its_signing_key_the_planner_does_not_start(engine, monkeypatch):
    monkeypatch.delenv("AGENTDECK_PLANNER_SIGNING_KEY")
    with pytest.raises(ConfigError, match="AGENTDECK_PLANNER_SIGNING_KEY"):
        _build(engine)


def test_without_a_writer_registry_no_service_acting_on_authority_starts(engine, monkeypatch):
    assert ServiceSettings().trust.writer_keys, "the tests' environment names the writers"
    monkeypatch.delenv("AGENTDECK_WRITER_KEYS")
    with pytest.raises(ConfigError, match="AGENTDECK_WRITER_KEYS"):
        _build(engine)


def test_without_the_pii_master_key_no_service_starts(engine, monkeypatch):
    monkeypatch.delenv("AGENTDECK_PII_MASTER_KEY")
    with pytest.raises(ConfigError, match="AGENTDECK_PII_MASTER_KEY is not set"):
        _build(engine)


def test_a_malformed_pii_master_key_is_a_config_error(engine, monkeypatch):
    monkeypatch.setenv("AGENTDECK_PII_MASTER_KEY", "c2hvcnQ=")
    with pytest.raises(ConfigError, match="not base64 of 32 bytes"):
        _build(engine)
