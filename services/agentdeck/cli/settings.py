"""Settings of the command line (env prefix ``AGENTDECK_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class CliSettings(ServiceSettings):
    """What ``agentdeck`` connects to; the embedded default when nothing is configured."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_CLI_", extra="ignore", frozen=True)

    service_name: str = "cli"
