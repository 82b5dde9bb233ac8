"""The Helm chart: typed values, rendering identical to Helm's, valid and complete manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from deploy._gotemplate import RenderError, render_chart
from deploy._jsonschema import unsupported_keywords
from deploy._manifests import (
    _K8S,
    CHART,
    GOLDEN,
    RELEASE,
    by_kind,
    documents,
    kubernetes_errors,
    platform_errors,
    render,
)
from deploy.chart_values import Values, schema_text
from testkit.processes import SERVICES

PRODUCTION = yaml.safe_load((CHART / "values-production.yaml").read_text(encoding="utf-8"))
DEV = yaml.safe_load((CHART / "ci" / "dev-values.yaml").read_text(encoding="utf-8"))
CASES = {"default": {}, "production": PRODUCTION, "dev": DEV}


def golden(case: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((GOLDEN / f"{case}.yaml").read_text()) if d]


def test_the_values_schema_is_generated_from_the_typed_model_and_current() -> None:
    assert (CHART / "values.schema.json").read_text(encoding="utf-8") == schema_text()


def test_the_chart_defaults_are_the_typed_models_defaults() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert defaults == Values().model_dump(by_alias=True, mode="json")


@pytest.mark.parametrize(
    "values",
    [
        {"kafka": {"partitions": 0}},
        {"services": {"planner": {"replicaz": 2}}},
        {"services": {"planner": {"env": {"lower_case": "x"}}}},
        {"services": {"tool-executor": {"resources": {"limits": {"cpu": "lots"}}}}},
        {"kafka": {"bootstrapServers": ""}},
    ],
)
def test_values_outside_the_schema_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        render(values)


@pytest.mark.parametrize("case", CASES)
def test_the_chart_renders_the_same_documents_as_helm(case: str) -> None:
    assert documents(render(CASES[case])) == golden(case)


@pytest.mark.parametrize("case", CASES)
def test_every_manifest_is_valid_kubernetes_1_33(case: str) -> None:
    assert kubernetes_errors(render(CASES[case])) == []


def test_the_vendored_kubernetes_schemas_use_only_keywords_the_validator_checks() -> None:
    assert unsupported_keywords(list(_K8S["kinds"].values())) == set()
    assert unsupported_keywords(list(_K8S["$defs"].values())) == set()


@pytest.mark.parametrize("case", CASES)
def test_every_service_has_probes_limits_a_non_root_context_and_its_env(case: str) -> None:
    assert platform_errors(render(CASES[case])) == []


def test_secrets_come_from_secrets_the_chart_does_not_hold() -> None:
    rendered = render(PRODUCTION)
    assert by_kind(rendered, "Secret") == {}
    for name, deployment in by_kind(rendered, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
        assert refs == [PRODUCTION["services"][name.removeprefix(f"{RELEASE}-")]["existingSecret"]]


def test_a_dev_cluster_can_have_the_chart_create_a_services_secret() -> None:
    rendered = render(DEV)
    secrets = by_kind(rendered, "Secret")
    assert set(secrets) == {f"{RELEASE}-policy-checker", f"{RELEASE}-approval"}
    key = DEV["services"]["policy-checker"]["secretEnv"]
    assert secrets[f"{RELEASE}-policy-checker"]["stringData"] == key
    assert "dev-only" not in json.dumps(by_kind(rendered, "ConfigMap"))
    assert by_kind(rendered, "Job") == {}
    assert by_kind(rendered, "ServiceAccount") == {}
    assert f"{RELEASE}-approval" not in by_kind(rendered, "PodDisruptionBudget")


def test_replicas_autoscaling_and_lag_scaling_follow_the_values() -> None:
    rendered = render(PRODUCTION)
    deployments = by_kind(rendered, "Deployment")
    hpas = by_kind(rendered, "HorizontalPodAutoscaler")
    scaled = by_kind(rendered, "ScaledObject")
    assert set(hpas) == {f"{RELEASE}-planner", f"{RELEASE}-policy-checker"}
    assert hpas[f"{RELEASE}-planner"]["spec"]["maxReplicas"] == 12
    assert "replicas" not in deployments[f"{RELEASE}-planner"]["spec"]
    assert deployments[f"{RELEASE}-approval"]["spec"]["replicas"] == 2
    trigger = scaled[f"{RELEASE}-tool-executor"]["spec"]["triggers"][0]
    assert trigger["metadata"]["consumerGroup"] == "agentdeck-tool-executor.calls"
    assert set(by_kind(rendered, "PodDisruptionBudget")) == {f"{RELEASE}-{s}" for s in SERVICES}


def test_topics_and_migrations_run_as_hooks_before_the_services() -> None:
    jobs = by_kind(render(), "Job")
    assert set(jobs) == {f"{RELEASE}-topics", f"{RELEASE}-migrations"}
    for job in jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        compile(container["command"][2], "job", "exec")
    migrate = jobs[f"{RELEASE}-migrations"]["spec"]["template"]["spec"]["containers"][0]
    assert migrate["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "agentdeck-database"


def test_the_approval_api_has_a_service() -> None:
    service = by_kind(render(), "Service")[f"{RELEASE}-approval"]
    assert service["spec"]["ports"][0]["port"] == 8470


def test_templates_are_named_for_their_kind_and_service() -> None:
    kinds = {"deployment", "configmap", "secret", "poddisruptionbudget"}
    kinds |= {"horizontalpodautoscaler", "scaledobject"}
    names = {p.name for p in (CHART / "templates").glob("*.yaml")}
    assert {f"{k}-{s}.yaml" for k in kinds for s in SERVICES} <= names
    for path, text in render(PRODUCTION).items():
        for doc in (d for d in yaml.safe_load_all(text) if d):
            assert Path(path).name.startswith(doc["kind"].lower() + "-")


def broken_chart(tmp_path: Path, template: str, old: str, new: str) -> Path:
    chart = tmp_path / "agentdeck"
    shutil.copytree(CHART, chart)
    target = chart / "templates" / template
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return chart


def test_a_template_that_drops_the_readiness_probe_fails_the_checks(tmp_path: Path) -> None:
    chart = broken_chart(tmp_path, "_helpers.tpl", "readinessProbe:", "x-readinessProbe:")
    rendered = render(chart=chart)
    assert any("unknown field" in e for e in kubernetes_errors(rendered))
    assert any("no readinessProbe on /readyz" in e for e in platform_errors(rendered))


def test_a_template_that_runs_as_root_fails_the_checks(tmp_path: Path) -> None:
    chart = broken_chart(tmp_path, "_helpers.tpl", "runAsNonRoot: true\nrunAsUser", "runAsUser")
    assert any("may run as root" in e for e in platform_errors(render(chart=chart)))


def test_a_missing_required_setting_stops_the_template_itself() -> None:
    # Helm checks the schema first; the templates' own `required` guards stand behind it.
    with pytest.raises(RenderError, match=r"database.existingSecret is required"):
        render_chart(CHART, {"database": {"existingSecret": ""}}, name=RELEASE, namespace=RELEASE)
