"""docker-compose.yml: valid against the Compose specification, secrets from the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy._compose import MissingVariable, interpolate, variables
from deploy._jsonschema import errors, unsupported_keywords
from testkit.processes import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((Path(__file__).with_name("schemas") / "compose-spec.json").read_text())
SECRETS = {
    "POSTGRES_PASSWORD",
    "AGENTDECK_POLICY_SIGNING_KEY",
    "AGENTDECK_APPROVAL_SIGNING_KEY",
    "AGENTDECK_APPROVAL_POLICY_VERIFY_KEYS",
    "AGENTDECK_EXECUTOR_POLICY_VERIFY_KEY",
    "AGENTDECK_EXECUTOR_APPROVAL_VERIFY_KEY",
    "AGENTDECK_TELEMETRY_CHECKPOINT_SIGNING_KEY",
    "AGENTDECK_WRITER_KEYS",
    "AGENTDECK_PII_MASTER_KEY",
    "AGENTDECK_PLANNER_SIGNING_KEY",
    "AGENTDECK_PLANNER_PRODUCERS",
    "AGENTDECK_EXECUTOR_CREDENTIAL_SIGNING_KEY",
}
ENV = {name: f"test-{name.lower()}" for name in SECRETS}


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def rendered(text: str, env: dict[str, str] = ENV) -> Any:
    return interpolate(yaml.safe_load(text), env)


def spec_errors(document: Any) -> list[str]:
    return list(errors(document, SPEC))


def test_the_vendored_compose_schema_uses_only_keywords_the_validator_checks() -> None:
    definitions = dict(SPEC["definitions"])
    constraints = definitions.pop("constraints")  # a folder of schemas, not a schema
    assert unsupported_keywords({**SPEC, "definitions": definitions}) == set()
    assert unsupported_keywords(list(constraints.values())) == set()


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    assert spec_errors(rendered(compose_text())) == []


def test_a_broken_compose_file_fails_the_specification_check() -> None:
    document = rendered(compose_text())
    document["services"]["planner"]["healthcheck"]["interval"] = ["5s"]
    document["services"]["approval"]["portz"] = ["8470:8470"]
    found = spec_errors(document)
    assert any("planner.healthcheck.interval" in e for e in found)
    assert any("approval.portz" in e for e in found)


def test_every_secret_is_required_from_the_environment_and_never_written_down() -> None:
    read = variables(compose_text())
    assert {name for name, op in read.items() if op == ":?"} == SECRETS
    for name in SECRETS:
        with pytest.raises(MissingVariable, match=name):
            rendered(compose_text(), {k: v for k, v in ENV.items() if k != name})


def test_every_service_runs_its_module_with_a_readiness_check_after_the_setup_jobs() -> None:
    services = rendered(compose_text())["services"]
    for name, (module, _prefix) in SERVICES.items():
        service = services[name]
        assert service["command"] == [module]
        assert service["user"] == "10001:10001"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["AGENTDECK_HEALTH_PORT"] == "8080"
        assert service["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        for job in ("topics", "migrations"):
            assert service["depends_on"][job]["condition"] == "service_completed_successfully"


def test_the_stack_has_kraft_kafka_stores_tracing_and_the_approval_port() -> None:
    services = rendered(compose_text())["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert {"postgres", "redis", "otel-collector", "jaeger", "topics", "migrations"} <= set(
        services
    )
    assert "127.0.0.1:8470:8470" in services["approval"]["ports"]
    assert services["approval"]["environment"]["AGENTDECK_APPROVAL_HTTP_HOST"] == "0.0.0.0"  # noqa: S104
    telemetry = services["telemetry"]["environment"]
    assert telemetry["AGENTDECK_TELEMETRY_OTLP_ENDPOINT"].startswith("http://otel-collector:4318")


def test_the_setup_jobs_run_python_that_compiles() -> None:
    services = rendered(compose_text())["services"]
    for job in ("topics", "migrations"):
        assert services[job]["entrypoint"] == ["python", "-c"]
        compile(services[job]["command"][0], job, "exec")
