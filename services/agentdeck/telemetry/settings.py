"""Settings of the telemetry service (env prefix ``AGENTDECK_TELEMETRY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.settings import ServiceSettings


class TelemetrySettings(ServiceSettings):
    """Where traces go and how often the Merkle log is checkpointed."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_TELEMETRY_", extra="ignore", frozen=True
    )

    service_name: str = "telemetry"
    consumer_group: str = "agentdeck-telemetry"
    otlp_endpoint: str = Field(default="", description="OTLP collector; empty = file exporter.")
    trace_file: str = Field(default="traces.jsonl", description="Relative to the data dir.")
    checkpoint_interval_s: float = Field(
        default=10.0, gt=0, description="Seconds between Merkle log checkpoints."
    )
    checkpoint_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (base64 of 32 bytes) signing checkpoints; "
        "required: telemetry refuses to start without it.",
    )
    checkpoint_key_id: str = Field(
        default="telemetry-1", description="Key id checkpoints name, for verifiers' key rings."
    )
