"""Settings of the policy-checker (env prefix ``AGENTDECK_POLICY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class PolicyCheckerSettings(ServiceSettings):
    """Which Cedar bundle decides, the shadow candidate, and the decision signing key."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_POLICY_", extra="ignore", frozen=True)

    service_name: str = "policy-checker"
    consumer_group: str = "agentdeck-policy-checker"
    bundle_dir: str = Field(default="", description="Active Cedar bundle; empty = bundled demo.")
    shadow_bundle_dir: str = Field(default="", description="Candidate evaluated beside it.")
    signing_key: SecretStr | None = Field(
        default=None, description="Decision signing key; required outside the embedded stack."
    )
    signing_key_id: str = "policy-1"
