"""Settings of the command line (env prefix ``AGENTDECK_CLI_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class CliSettings(ServiceSettings):
    """What ``agentdeck`` connects to; the embedded default when nothing is configured."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_CLI_", extra="ignore", frozen=True)

    service_name: str = "cli"
    approval_url: str = Field(default="", description="Approval API; empty = the stack's.")
    approver_token: str = Field(default="", description="Bearer token for approve/deny.")
    tenant: str = "acme"
    producer_key: SecretStr | None = Field(
        default=None, description="Private Ed25519 key (base64) goals are signed with."
    )
    producer_key_id: str = Field(default="", description="Its key id in the producer registry.")
    operator_key: SecretStr | None = Field(
        default=None, description="Private Ed25519 key (base64) kill switches are signed with."
    )
    operator_key_id: str = Field(default="", description="Its key id in AGENTDECK_WRITER_KEYS.")
