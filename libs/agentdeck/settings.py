"""Settings shared by every service.

Each service defines one :class:`ServiceSettings` subclass with its own
environment prefix, loads it once in its ``main.py`` and passes it down.
No other module reads the environment.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "KafkaSettings",
    "PrivacySettings",
    "ServiceSettings",
    "StoreSettings",
    "TrustSettings",
    "WriterKey",
]


class KafkaSettings(BaseSettings):
    """How to reach Kafka. Empty ``bootstrap_servers`` means: launch the embedded broker."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore", frozen=True)

    bootstrap_servers: str = Field(
        default="", description="host:port list; empty starts the embedded Tansu broker."
    )
    topic_prefix: str = Field(
        default="agentdeck", pattern=r"^[A-Za-z0-9._-]+$", description="Prefix of every topic."
    )
    partitions: int = Field(default=6, ge=1, description="Partitions of each data topic.")
    fetch_wait_max_ms: int = Field(
        default=5, ge=0, description="Broker-side wait for data; low keeps hops fast."
    )
    background_fetch_wait_max_ms: int = Field(
        default=100,
        ge=0,
        description="Broker-side wait of loops off the step path (archive, settlement, "
        "approvals, control): fewer empty fetches, a little later there.",
    )
    session_timeout_ms: int = Field(default=6000, ge=1000)
    heartbeat_interval_ms: int = Field(default=1000, ge=100)
    linger_ms: int = Field(default=1, ge=0)
    max_message_bytes: int = Field(
        default=1_000_000, gt=0, description="Larger payloads are dead-lettered."
    )
    batch_size: int = Field(default=500, gt=0, description="Most events handled per batch.")
    poll_timeout_s: float = Field(default=0.1, gt=0, description="Wait for a batch's first event.")
    client_id_prefix: str = "agentdeck"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None


class StoreSettings(BaseSettings):
    """Where durable state lives. Empty ``database_url`` means the embedded SQLite file."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_", extra="ignore", frozen=True)

    database_url: str = Field(default="", description="SQLAlchemy URL; empty = embedded SQLite.")
    redis_url: str = Field(default="", description="redis:// URL; empty = in-process hot state.")
    data_dir: str = Field(default=".agentdeck", description="Embedded files live here.")
    claim_check_above_bytes: int = Field(
        default=16_384,
        ge=0,
        description="Tool outputs and model requests/responses larger than this are stored "
        "once by content hash; events carry a reference.",
    )
    republish_unarchived_after_s: float = Field(
        default=30.0,
        ge=0,
        description="Every service keeps what it publishes until the archive holds it, and "
        "publishes a record again when the archive has moved this far past it without it "
        "(a broker that lost acknowledged records); 0 keeps nothing (no telemetry deployed).",
    )
    startup_wait_s: float = Field(
        default=60.0,
        ge=0,
        description="How long a starting service waits for its database to answer (it "
        "restarts, connections are dropped) before it exits with one line saying so.",
    )
    unarchived_give_up_after_s: float = Field(
        default=86_400.0,
        gt=0,
        description="A kept record the archive still lacks after this long is dropped (logged).",
    )


class WriterKey(BaseModel):
    """One entry of the writer registry: whose key it is, and the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    """Service name (``planner``, ``policy-checker``, ``approval``) or ``operator``."""
    public_key: str
    """Base64 of the raw Ed25519 public key."""


class TrustSettings(BaseSettings):
    """Whose signed records a service acts on: the writer registry, shared by every service."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_", extra="ignore", frozen=True)

    writer_keys: dict[str, WriterKey] = Field(
        default_factory=dict,
        description="Key id -> {service, public_key}: the keys events carrying authority "
        "(tool-call requests, decisions, approvals, run outcomes, kill switches) are signed with.",
    )


class PrivacySettings(BaseSettings):
    """How personal data is sealed: the master key of the subject keys, shared by every service."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_", extra="ignore", frozen=True)

    pii_master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes: wraps every data subject's key. Without it "
        "services do not start.",
    )
    pii_key_cache_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("pii_key_cache_s", "AGENTDECK_PII_KEY_CACHE_SECONDS"),
        description="How long a service keeps a subject key in memory: an erasure takes "
        "effect everywhere within this time.",
    )


class ServiceSettings(BaseSettings):
    """Base of every service's settings class: identity plus the shared sections."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "agentdeck"
    service_version: str = "0.1.0"
    consumer_group: str = ""
    health_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("health_port", "AGENTDECK_HEALTH_PORT"),
        description="Port of /livez and /readyz; 0 serves none (the embedded stack).",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
