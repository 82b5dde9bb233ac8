"""Render the chart and check the rendered manifests: Kubernetes schemas and platform rules."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from deploy._gotemplate import merge_values, render_chart
from deploy._jsonschema import errors
from deploy.chart_values import Values
from testkit.processes import SERVICES

__all__ = [
    "CHART",
    "GOLDEN",
    "RELEASE",
    "by_kind",
    "kubernetes_errors",
    "platform_errors",
    "render",
]

CHART = Path(__file__).resolve().parents[2] / "helm" / "agentdeck"
GOLDEN = Path(__file__).with_name("golden")
RELEASE = "agentdeck"
_K8S = json.loads((Path(__file__).with_name("schemas") / "kubernetes-1.33-strict.json").read_text())
SECRET_WORDS = ("SIGNING_KEY", "PASSWORD", "APPROVERS", "API_KEY", "DATABASE_URL", "TOKEN")


def render(values: Mapping[str, Any] | None = None, chart: Path = CHART) -> dict[str, str]:
    """The chart rendered like ``helm template agentdeck CHART -f values``, values validated."""
    defaults = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    Values.model_validate(merge_values(defaults, dict(values or {})))
    return render_chart(chart, values, name=RELEASE, namespace=RELEASE)


def documents(rendered: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every non-empty YAML document, in template order."""
    return [
        doc for _path, text in sorted(rendered.items()) for doc in yaml.safe_load_all(text) if doc
    ]


def by_kind(rendered: Mapping[str, str], kind: str) -> dict[str, dict[str, Any]]:
    """Documents of ``kind`` by name."""
    return {d["metadata"]["name"]: d for d in documents(rendered) if d["kind"] == kind}


def kubernetes_errors(rendered: Mapping[str, str]) -> list[str]:
    """Violations of the Kubernetes 1.33 (strict) schemas; CRDs (KEDA) are checked by shape."""
    found = []
    for doc in documents(rendered):
        key = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        schema = _K8S["kinds"].get(key)
        if doc.get("apiVersion") == "keda.sh/v1alpha1":
            continue
        if schema is None:
            found.append(f"{key}: no schema for this kind")
            continue
        name = doc.get("metadata", {}).get("name")
        found += [f"{key} {name}: {e}" for e in errors(doc, {**schema, "$defs": _K8S["$defs"]})]
    return found


def _container_errors(name: str, deployment: dict[str, Any]) -> Iterator[str]:
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    module, _prefix = SERVICES[name]
    if container.get("command") != ["python", "-m", module]:
        yield f"{name}: runs {container.get('command')}, not {module}"
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        if container.get(probe, {}).get("httpGet", {}).get("path") != path:
            yield f"{name}: no {probe} on {path}"
    resources = container.get("resources", {})
    for part in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(part, {})):
            yield f"{name}: resources.{part} lacks cpu or memory"
    security = container.get("securityContext", {})
    if not (pod.get("securityContext", {}).get("runAsNonRoot") and security.get("runAsNonRoot")):
        yield f"{name}: may run as root"
    if security.get("allowPrivilegeEscalation") is not False:
        yield f"{name}: privilege escalation allowed"
    if not security.get("readOnlyRootFilesystem"):
        yield f"{name}: writable root filesystem"
    sources = {next(iter(s)) for s in container.get("envFrom", [])}
    if sources != {"configMapRef", "secretRef"}:
        yield f"{name}: env not from its ConfigMap and Secret"
    database = {e["name"]: e for e in container.get("env", [])}.get("AGENTDECK_DATABASE_URL", {})
    if "secretKeyRef" not in database.get("valueFrom", {}):
        yield f"{name}: database URL not from a Secret"


def platform_errors(rendered: Mapping[str, str]) -> list[str]:
    """What the platform needs of every service beyond valid Kubernetes."""
    found: list[str] = []
    deployments = by_kind(rendered, "Deployment")
    configmaps = by_kind(rendered, "ConfigMap")
    for name in SERVICES:
        full = f"{RELEASE}-{name}"
        if full not in deployments:
            found.append(f"{name}: no Deployment")
            continue
        found += _container_errors(name, deployments[full])
        data = configmaps.get(full, {}).get("data", {})
        if data.get("AGENTDECK_HEALTH_PORT") is None or "KAFKA_BOOTSTRAP_SERVERS" not in data:
            found.append(f"{name}: ConfigMap lacks the health port or Kafka")
        found += [f"{name}: secret {k} in a ConfigMap" for k in data if _secret_like(k)]
    return found


def _secret_like(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS) and not name.endswith("_KEY_ID")
