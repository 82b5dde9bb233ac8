"""Settings of the approval service (env prefix ``AGENTDECK_APPROVAL_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class ApprovalSettings(ServiceSettings):
    """The approvers' HTTP API, deadlines and escalation, and the approval signing key."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_APPROVAL_", extra="ignore", frozen=True)

    service_name: str = "approval"
    consumer_group: str = "agentdeck-approval"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8470, ge=0, le=65535)
    default_deadline_s: float = Field(default=3600.0, gt=0)
    escalate_after_s: float = Field(default=1800.0, gt=0)
    webhook_url: str = ""
    signing_key: SecretStr | None = None
    signing_key_id: str = "approval-1"
