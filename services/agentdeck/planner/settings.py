"""Settings of the planner (env prefix ``AGENTDECK_PLANNER_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from agentdeck.planner.core.pricing import DEFAULT_PRICES, ModelPrice, check_prices
from agentdeck.settings import ServiceSettings


class PlannerSettings(ServiceSettings):
    """Where playbooks live, which model endpoint plans, and the default run limits."""

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_PLANNER_", extra="ignore", frozen=True)

    service_name: str = "planner"
    consumer_group: str = "agentdeck-planner"
    tool_packages: tuple[str, ...] = Field(
        default=(), description="Modules declaring the tool contracts; empty: the demo tools."
    )
    playbook_dir: str = Field(default="", description="Playbook YAML files; empty = bundled demo.")
    producer_registry: str = Field(
        default="",
        description="Producer registry file (YAML or JSON): who may start which runs. This"
        " or `producers` is required.",
    )
    producers: str = Field(
        default="", description="The producer registry itself, as a JSON document (no file)."
    )
    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (base64) the planner signs tool-call requests and run"
        " outcomes with; its public half is in AGENTDECK_WRITER_KEYS.",
    )
    signing_key_id: str = "planner-1"
    llm_base_url: str = Field(default="", description="OpenAI-compatible endpoint; empty = none.")
    llm_api_key: SecretStr | None = None
    llm_model_small: str = "small"
    llm_model_large: str = "large"
    llm_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for one model call (per attempt)."
    )
    llm_max_attempts: int = Field(
        default=4, ge=1, description="Attempts at one turn's model call; then the run fails."
    )
    llm_backoff_s: float = Field(
        default=1.0, ge=0, description="Wait after a failed attempt, doubled after each next one."
    )
    llm_max_backoff_s: float = Field(default=30.0, ge=0, description="Longest backoff.")
    llm_jitter: float = Field(
        default=0.5, ge=0, le=1, description="Share of a backoff drawn at random, either way."
    )
    llm_breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open an endpoint's breaker."
    )
    llm_breaker_cooldown_s: float = Field(
        default=30.0, ge=0, description="How long an open breaker waits before a trial call."
    )
    llm_fallback_model: str = Field(
        default="", description="Model asked while the primary's breaker is open; empty = none."
    )
    llm_fallback_base_url: str = Field(
        default="", description="Endpoint of the fallback model; empty = the primary's."
    )
    llm_workers: int = Field(
        default=4, ge=1, description="Model calls in flight at once, off the batch loop."
    )
    llm_large_above_chars: int = Field(
        default=400, ge=0, description="Goals longer than this (with inputs) use the large model."
    )
    model_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="USD per million tokens by model (prompt, completion, cached), as JSON,"
        ' e.g. {"gpt-4o*": {"prompt": 2.5, "completion": 10, "cached": 1.25},'
        ' "*": {"prompt": 1, "completion": 1}}; keys may hold * wildcards, the longest match'
        " wins, and a * entry prices every other model (see planner/core/pricing.py).",
    )
    llm_cache_ttl_s: float = Field(default=3600.0, gt=0, description="Response cache lifetime.")
    redrive_after_s: float = Field(
        default=60.0,
        gt=0,
        description="A run with a call in flight and no progress this long is re-driven: the"
        " call's request is published again (same id; downstream re-emits what it did).",
    )
    redrive_interval_s: float = Field(
        default=5.0, gt=0, description="How often the planner looks for stalled runs."
    )

    @field_validator("model_prices")
    @classmethod
    def _prices_every_model(cls, prices: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        check_prices(prices)
        return prices
