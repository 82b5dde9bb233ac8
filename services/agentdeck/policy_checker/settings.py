"""Settings of the policy-checker (env prefix ``AGENTDECK_POLICY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class PolicyCheckerSettings(ServiceSettings):
    """Which Cedar bundle decides, the shadow candidate, budgets, and the decision signing key.

    Mappings are JSON in the environment, e.g.
    ``AGENTDECK_POLICY_TENANT_BUDGETS_MICROS='{"acme": 100000000}'``.
    """

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_POLICY_", extra="ignore", frozen=True)

    service_name: str = "policy-checker"
    consumer_group: str = "agentdeck-policy-checker"
    tool_packages: tuple[str, ...] = Field(
        default=(), description="Modules declaring the tool contracts; empty: the demo tools."
    )
    bundle_dir: str = Field(default="", description="Active Cedar bundle; empty = bundled demo.")
    shadow_bundle_dir: str = Field(default="", description="Candidate evaluated beside it.")
    signing_key: SecretStr | None = Field(
        default=None, description="Decision signing key; required outside the embedded stack."
    )
    signing_key_id: str = "policy-1"
    allow_ttl_s: float = Field(
        default=300.0, gt=0, description="An ALLOW is executable for this long after the decision."
    )
    approval_ttl_s: float = Field(
        default=86_400.0,
        gt=0,
        description="A REQUIRE_APPROVAL stays valid this long: longer than the approval "
        "service's deadline plus its escalations, so a late approval still finds it valid.",
    )
    stale_hold_after_s: float = Field(
        default=3_600.0,
        gt=0,
        description="An allowed call's budget hold still open this long is given back (its"
        " decision never reached the executor; longer than allow_ttl_s plus the longest call).",
    )
    hold_sweep_interval_s: float = Field(default=60.0, gt=0, description="How often.")
    tenant_budgets_micros: dict[str, int] = Field(
        default_factory=lambda: {"acme": 100_000_000},
        description="Budget per tenant (micro-USD), created at start where none exists yet; "
        "an existing budget is never changed. Tenants without one run free calls only.",
    )
