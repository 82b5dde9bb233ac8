"""Every variable the compose file and the chart set is one a service's settings read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from agentdeck.approval.settings import ApprovalSettings
from agentdeck.planner.settings import PlannerSettings
from agentdeck.policy_checker.settings import PolicyCheckerSettings
from agentdeck.settings import (
    KafkaSettings,
    PrivacySettings,
    ServiceSettings,
    StoreSettings,
    TrustSettings,
)
from agentdeck.telemetry.settings import TelemetrySettings
from agentdeck.tool_executor.settings import ToolExecutorSettings
from deploy._compose import interpolate, variables
from deploy._manifests import CHART, RELEASE, by_kind, render

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "planner": PlannerSettings,
    "policy-checker": PolicyCheckerSettings,
    "approval": ApprovalSettings,
    "tool-executor": ToolExecutorSettings,
    "telemetry": TelemetrySettings,
}
OUTSIDE = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PATH"}


def names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {prefix.upper() + field.upper() for field in settings.model_fields}


def known(service: str) -> set[str]:
    return (
        names(SETTINGS[service])
        | names(KafkaSettings)
        | names(StoreSettings)
        | names(TrustSettings)
        | names(PrivacySettings)
        | {"AGENTDECK_HEALTH_PORT"}
        | OUTSIDE
    )


def test_every_compose_variable_is_read_by_the_service() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    services = interpolate(yaml.safe_load(text), dict.fromkeys(variables(text), "x"))["services"]
    for service in SETTINGS:
        assert set(services[service]["environment"]) <= known(service), service


def test_every_chart_variable_is_read_by_the_service() -> None:
    production = yaml.safe_load((CHART / "values-production.yaml").read_text(encoding="utf-8"))
    configmaps = by_kind(render(production), "ConfigMap")
    for service in SETTINGS:
        assert set(configmaps[f"{RELEASE}-{service}"]["data"]) <= known(service), service


def test_lag_scaling_watches_each_services_real_consumer_group() -> None:
    production = yaml.safe_load((CHART / "values-production.yaml").read_text(encoding="utf-8"))
    production["services"]["planner"]["keda"] = {"enabled": True, "subscription": "runs"}
    scaled = by_kind(render(production), "ScaledObject")
    trigger = scaled[f"{RELEASE}-planner"]["spec"]["triggers"][0]["metadata"]
    assert trigger["consumerGroup"] == f"{PlannerSettings().consumer_group}.runs"
    trigger = scaled[f"{RELEASE}-tool-executor"]["spec"]["triggers"][0]["metadata"]
    assert trigger["consumerGroup"] == f"{ToolExecutorSettings().consumer_group}.calls"


def test_each_service_loads_its_settings_from_the_charts_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = yaml.safe_load((CHART / "values-production.yaml").read_text(encoding="utf-8"))
    configmaps = by_kind(render(production), "ConfigMap")
    for variable in list(os.environ):
        if variable.startswith(("AGENTDECK_", "KAFKA_")):
            monkeypatch.delenv(variable)
    loaded = {}
    for service, settings in SETTINGS.items():
        with monkeypatch.context() as env:
            for name, value in configmaps[f"{RELEASE}-{service}"]["data"].items():
                env.setenv(name, value)
            loaded[service] = settings()
    for settings in loaded.values():
        assert settings.health_port == 8080
        assert settings.kafka.bootstrap_servers == production["kafka"]["bootstrapServers"]
        assert settings.kafka.partitions == 12
        assert settings.store.data_dir == "/var/lib/agentdeck"
    approval = loaded["approval"]
    assert isinstance(approval, ApprovalSettings)
    assert (approval.http_host, approval.http_port) == ("0.0.0.0", 8470)  # noqa: S104
    assert (
        approval.webhook_url
        == production["services"]["approval"]["env"]["AGENTDECK_APPROVAL_WEBHOOK_URL"]
    )
    executor = loaded["tool-executor"]
    assert isinstance(executor, ToolExecutorSettings)
    assert executor.max_parallel_calls == 32
    telemetry = loaded["telemetry"]
    assert isinstance(telemetry, TelemetrySettings)
    assert telemetry.otlp_endpoint == production["otlpEndpoint"]
