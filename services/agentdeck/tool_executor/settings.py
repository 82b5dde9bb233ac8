"""Settings of the tool-executor (env prefix ``AGENTDECK_EXECUTOR_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings

_INJECTION = (
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) (?:instructions|prompts?|rules)",
    r"disregard (?:all |any )?(?:the )?(?:previous|prior|above|your) (?:instructions|rules)",
    r"forget (?:all |everything )?(?:you were told|your instructions)",
    r"you are now (?:in )?(?:developer|dan|jailbreak) mode",
    r"(?:reveal|print|show) (?:your |the )?(?:system prompt|hidden instructions)",
    r"</?(?:system|assistant)>",
)


class ToolExecutorSettings(ServiceSettings):
    """Which tools this executor runs, the keys it verifies with, and the limits it enforces."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_EXECUTOR_", extra="ignore", frozen=True)

    service_name: str = "tool-executor"
    consumer_group: str = "agentdeck-tool-executor"
    tool_packages: tuple[str, ...] = Field(
        default=(), description="Modules exposing `registry` or `tools()`; empty: the demo tools."
    )
    ignore_foreign_tools: bool = Field(
        default=False,
        description="Skip decisions on tools this executor lacks (a department worker) "
        "instead of dead-lettering them as unknown_tool.",
    )
    policy_verify_key: SecretStr | None = Field(
        default=None, description="Public key (base64) of the policy-checker's signing key."
    )
    policy_key_id: str = "policy-1"
    approval_verify_key: SecretStr | None = Field(
        default=None, description="Public key (base64) of the approval service's signing key."
    )
    approval_key_id: str = "approval-1"
    credential_signing_key: SecretStr | None = Field(
        default=None,
        description="Private key (base64) the executor signs per-call credentials with; "
        "required when a tool's contract names a credential_audience.",
    )
    credential_key_id: str = "executor-1"
    max_parallel_calls: int = Field(default=16, gt=0, description="Calls in flight per batch.")
    breaker_failures: int = Field(default=5, gt=0, description="Consecutive failures to open.")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, description="Open, then half-open.")
    in_flight_grace_s: float = Field(
        default=30.0, ge=0, description="A started call younger than timeout + this is in flight."
    )
    switches_wait_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a batch waits at start-up for the kill switches to be read "
        "before it is retried (nothing runs until they are).",
    )
    http_allow_hosts: tuple[str, ...] = Field(
        default=(), description="Hosts (or host:port) http_get may reach."
    )
    redact_pii: tuple[Literal["email", "phone", "card"], ...] = ("email", "phone", "card")
    injection_patterns: tuple[str, ...] = _INJECTION
    # No isolation setting on purpose: sandboxed tools run under Landlock and
    # seccomp or not at all (sandbox_unavailable); there is nothing weaker to choose.
    sandbox_cpu_s: int = Field(default=5, gt=0, description="CPU seconds of one sandboxed call.")
    sandbox_memory_mb: int = Field(default=256, gt=0, description="Address space of one call.")
    max_output_bytes: int = Field(default=64_000, gt=0)
