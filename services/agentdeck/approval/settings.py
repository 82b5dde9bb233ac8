"""Settings of the approval service (env prefix ``AGENTDECK_APPROVAL_``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from agentdeck.approval.adapters.auth import TOKEN_HASH
from agentdeck.approval.adapters.oidc import OidcConfig
from agentdeck.approval.core import Principal, Rules
from agentdeck.settings import ServiceSettings

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Token algorithms an operator may allow: never ``none``, never an HMAC (HS*)."""

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ApprovalSettings(ServiceSettings):
    """The approvers' HTTP API and its authentication, deadlines and escalation, the signing key.

    Approvers present OIDC access tokens (``oidc_*``). The embedded stack may
    instead give static tokens, stored hashed: mappings are JSON in the
    environment, e.g. ``AGENTDECK_APPROVAL_APPROVERS='{"sha256:<hex of the token>":
    {"name": "alice", "roles": ["support-lead"], "tenants": ["acme"]}}'`` with
    ``AGENTDECK_APPROVAL_ALLOW_STATIC_TOKENS=true``.
    """

    # hide_input_in_errors: a mistaken setting must not print a secret in the start-up error.
    # env_ignore_empty: compose passes unset optional settings as empty strings.
    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_APPROVAL_",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
        env_ignore_empty=True,
    )

    service_name: str = "approval"
    consumer_group: str = "agentdeck-approval"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8470, ge=0, le=65535)
    default_deadline_s: float = Field(default=3600.0, gt=0)
    escalate_after_s: float = Field(
        default=1800.0, gt=0, description="Escalation point; none if not before the deadline."
    )
    webhook_url: str = Field(default="", description="POSTed on every request; empty = none.")
    webhook_timeout_s: float = Field(default=2.0, gt=0)
    signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 private key, base64; required to sign outcomes."
    )
    signing_key_id: str = "approval-1"
    policy_verify_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Policy-checker public keys (id -> base64); if set, unsigned decisions "
        "are dead-lettered instead of shown to approvers.",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest request body."
    )
    oidc_issuer: str = Field(default="", description="Required iss of approver tokens.")
    oidc_audience: str = Field(default="", description="Required aud of approver tokens.")
    oidc_jwks_url: str = Field(
        default="", description="The identity provider's JWKS (https; http only for localhost)."
    )
    oidc_jwks_file: str = Field(default="", description="A JWKS file, instead of the URL.")
    oidc_algorithms: tuple[str, ...] = Field(
        default=("RS256", "ES256"), min_length=1, description="Accepted token algorithms."
    )
    oidc_name_claim: str = Field(default="sub", description="Claim naming the approver.")
    oidc_roles_claim: str = Field(
        default="roles", description="Claim listing approver roles; dots reach nested claims."
    )
    oidc_tenants_claim: str = Field(
        default="tenants", description="Claim listing the tenants acted for ('*': every one)."
    )
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=300, description="Clock skew tolerated.")
    oidc_jwks_refresh_s: float = Field(default=300.0, ge=10, description="JWKS refresh period.")
    approvers: dict[str, Principal] = Field(
        default_factory=dict,
        repr=False,
        description="Embedded stack only: sha256:<hex> of a static token -> approver "
        "(name, roles, tenants). Never the token itself.",
    )
    allow_static_tokens: bool = Field(
        default=False,
        description="Accept the static tokens of `approvers`; set by the embedded stack only.",
    )
    default_risk_band: str = "medium"
    tool_risk_bands: dict[str, str] = Field(
        default_factory=dict, description="Risk band per tool, unless the policy tags one."
    )
    band_roles: dict[str, str] = Field(
        default_factory=lambda: {
            "low": "support-lead",
            "medium": "support-lead",
            "high": "finance",
        },
        description="Approver role per risk band, unless the policy tags one.",
    )
    default_approver_role: str = "support-lead"
    quorum: dict[str, int] = Field(
        default_factory=lambda: {"high": 2},
        description="Distinct approvals needed per risk band (1 when absent).",
    )
    escalation_chain: tuple[str, ...] = Field(
        default=("support-lead", "finance"), description="Roles, lowest first; one step up."
    )
    sweep_interval_s: float = Field(default=1.0, gt=0, description="How often timers are checked.")
    summary_max_chars: int = Field(default=600, ge=40)

    @field_validator("approvers")
    @classmethod
    def _hashed_tokens_only(cls, value: dict[str, Principal]) -> dict[str, Principal]:
        if not all(TOKEN_HASH.match(key) for key in value):
            raise ValueError(
                "keys must be sha256:<64 hex digits> of a token, never the token itself"
            )
        return value

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = sorted(set(value) - ASYMMETRIC_ALGORITHMS)
        if refused:
            raise ValueError(f"not allowed: {', '.join(refused)} (asymmetric algorithms only)")
        return value

    @field_validator("oidc_jwks_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and parts.scheme != "https" and parts.hostname not in _LOCAL_HOSTS:
            raise ValueError("the JWKS URL must be https (http only for localhost)")
        return value

    def oidc(self) -> OidcConfig:
        """What a valid approver token looks like."""
        return OidcConfig(
            issuer=self.oidc_issuer,
            audience=self.oidc_audience,
            algorithms=self.oidc_algorithms,
            name_claim=self.oidc_name_claim,
            roles_claim=self.oidc_roles_claim,
            tenants_claim=self.oidc_tenants_claim,
            leeway_s=self.oidc_leeway_s,
        )

    def rules(self) -> Rules:
        """The rules the core opens cases with."""
        return Rules(
            deadline=timedelta(seconds=self.default_deadline_s),
            escalate_after=timedelta(seconds=self.escalate_after_s),
            default_band=self.default_risk_band,
            tool_bands=dict(self.tool_risk_bands),
            band_roles=dict(self.band_roles),
            default_role=self.default_approver_role,
            quorum=dict(self.quorum),
            escalation_chain=self.escalation_chain,
            summary_max_chars=self.summary_max_chars,
        )
