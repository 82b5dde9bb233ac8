"""The Helm chart's values as a typed model; ``values.schema.json`` is generated from it.

Regenerate after changing the model (CI fails while the file is stale)::

    .venv/bin/python tests/deploy/chart_values.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "helm" / "agentdeck" / "values.schema.json"

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")]
Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]
_ENV_ONLY: dict[str, Any] = {"additionalProperties": False}  # names must match the pattern
DnsName = Annotated[str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$")]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Image(_Model):
    """Which image every pod runs (one image, one module per service)."""

    repository: str = Field(default="agentdeck", min_length=1)
    tag: str = Field(default="", description="Empty: the chart's appVersion.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"


class PullSecret(_Model):
    """A registry credential Secret."""

    name: DnsName


class Kafka(_Model):
    """The Kafka cluster every service and the topic job connect to."""

    bootstrap_servers: str = Field(default="kafka:9092", min_length=1)
    topic_prefix: str = Field(default="agentdeck", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=6, ge=1, le=1000, description="Partitions per data topic.")


class Database(_Model):
    """Where the SQLAlchemy URL (with its password) is kept."""

    existing_secret: DnsName = Field(default="agentdeck-database", min_length=1)
    url_key: str = Field(default="url", min_length=1)


class Redis(_Model):
    """Hot state (rate windows, caches); empty keeps it in each process."""

    url: str = "redis://redis:6379/0"


class Jobs(_Model):
    """The pre-install / pre-upgrade hooks."""

    migrations: bool = True
    topics: bool = True
    backoff_limit: int = Field(default=3, ge=0)
    ttl_seconds_after_finished: int = Field(default=600, ge=0)


class ApprovalApi(_Model):
    """The approvers' HTTP API."""

    port: int = Field(default=8470, ge=1, le=65535)
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"


class ServiceAccount(_Model):
    """The pods' service account (no API token is mounted)."""

    create: bool = True
    name: DnsName = ""


class Amounts(_Model):
    """CPU and memory."""

    cpu: Quantity
    memory: Quantity


class Resources(_Model):
    """Requests and limits: both are required."""

    requests: Amounts
    limits: Amounts


class Autoscaling(_Model):
    """A CPU-based HorizontalPodAutoscaler."""

    enabled: bool = False
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=6, ge=1)
    target_cpu_utilization_percentage: int = Field(
        default=70, ge=1, le=100, alias="targetCPUUtilizationPercentage"
    )


class Keda(_Model):
    """A KEDA ScaledObject on the consumer group's lag (replaces the HPA)."""

    enabled: bool = False
    subscription: str = Field(min_length=1, description="The lag of `<group>.<this>` scales.")
    lag_threshold: int = Field(default=50, ge=1)
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=6, ge=1, description="No more than the partitions.")


class Pdb(_Model):
    """The PodDisruptionBudget."""

    enabled: bool = True
    max_unavailable: int = Field(default=1, ge=1)


class Service(_Model):
    """One service's deployment."""

    replicas: int = Field(default=1, ge=0)
    env: dict[EnvName, str] = Field(
        default_factory=dict, description="Extra non-secret env.", json_schema_extra=_ENV_ONLY
    )
    secret_env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Dev clusters only: creates `<release>-<service>`.",
        json_schema_extra=_ENV_ONLY,
    )
    existing_secret: DnsName = Field(default="", description="Empty: `<release>-<service>`.")
    resources: Resources
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    keda: Keda
    pdb: Pdb = Field(default_factory=Pdb)


def _service(cpu: tuple[str, str], memory: tuple[str, str], subscription: str, **kw: Any) -> Any:
    def make() -> Service:
        return Service(
            resources=Resources(
                requests=Amounts(cpu=cpu[0], memory=memory[0]),
                limits=Amounts(cpu=cpu[1], memory=memory[1]),
            ),
            autoscaling=Autoscaling(max_replicas=kw.get("max_replicas", 6)),
            keda=Keda(
                subscription=subscription,
                lag_threshold=kw.get("lag", 50),
                max_replicas=kw.get("max_replicas", 6),
            ),
        )

    return Field(default_factory=make)


class Services(_Model):
    """The five services; each is always deployed."""

    planner: Service = _service(("100m", "1"), ("256Mi", "512Mi"), "runs")
    policy_checker: Service = _service(("100m", "1"), ("256Mi", "512Mi"), "decide")
    approval: Service = _service(("50m", "500m"), ("192Mi", "384Mi"), "decisions", max_replicas=3)
    tool_executor: Service = _service(("200m", "2"), ("384Mi", "1Gi"), "calls", lag=20)
    telemetry: Service = _service(("100m", "1"), ("256Mi", "512Mi"), "archive", lag=500)

    model_config = ConfigDict(
        alias_generator=lambda name: name.replace("_", "-"),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Values(_Model):
    """Values of the agentdeck chart."""

    image: Image = Field(default_factory=Image)
    image_pull_secrets: list[PullSecret] = Field(default_factory=list)
    kafka: Kafka = Field(default_factory=Kafka)
    database: Database = Field(default_factory=Database)
    redis: Redis = Field(default_factory=Redis)
    health_port: int = Field(default=8080, ge=1, le=65535)
    otlp_endpoint: str = Field(default="", description="Telemetry's OTLP/HTTP traces endpoint.")
    jobs: Jobs = Field(default_factory=Jobs)
    approval_api: ApprovalApi = Field(default_factory=ApprovalApi)
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    services: Services = Field(default_factory=Services)


def schema_text() -> str:
    """The JSON schema Helm validates values against, as it is checked in."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Values.model_json_schema(by_alias=True, mode="validation"))
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
