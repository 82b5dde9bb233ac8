"""Settings of the approval service (env prefix ``AGENTDECK_APPROVAL_``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentdeck.approval.core import Approver, Rules
from agentdeck.settings import ServiceSettings


class ApprovalSettings(ServiceSettings):
    """The approvers' HTTP API, deadlines and escalation, and the approval signing key.

    Mappings are JSON in the environment, e.g.
    ``AGENTDECK_APPROVAL_APPROVERS='{"<token>": {"name": "alice", "role": "support-lead"}}'``.
    """

    model_config = SettingsConfigDict(env_prefix="AGENTDECK_APPROVAL_", extra="ignore", frozen=True)

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
    approvers: dict[str, Approver] = Field(
        default_factory=dict,
        repr=False,
        description="Bearer token -> approver (name and role). The tokens are secrets.",
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
