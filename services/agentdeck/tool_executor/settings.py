"""Settings of the tool-executor (env prefix ``AGENTDECK_EXECUTOR_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class ToolExecutorSettings(ServiceSettings):
    """Which tools this executor runs and the keys it verifies decisions with."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_EXECUTOR_", extra="ignore", frozen=True)

    service_name: str = "tool-executor"
    consumer_group: str = "agentdeck-tool-executor"
    tool_packages: tuple[str, ...] = Field(default=(), description="Modules registering tools.")
    policy_verify_key: SecretStr | None = None
    approval_verify_key: SecretStr | None = None
    sandbox_cpu_s: int = Field(default=5, gt=0)
    sandbox_memory_mb: int = Field(default=256, gt=0)
    max_output_bytes: int = Field(default=64_000, gt=0)
