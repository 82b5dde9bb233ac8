"""A policy bundle as the core sees it: manifest, rules with their annotations, digest."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.errors import ConfigError
from agentdeck.policy_checker.core.reasons import check_template

__all__ = [
    "AgentProfile",
    "Bundle",
    "Effect",
    "Manifest",
    "PolicyRule",
    "RiskBand",
    "TenantProfile",
    "Tier",
    "ToolProfile",
    "digest_of",
    "rule_from_annotations",
]


class Tier(StrEnum):
    """Autonomy tiers, least autonomy first; an agent/tool pair gets the stricter one."""

    READ_ONLY = "read_only"
    SUGGEST = "suggest"
    AUTO_WITH_APPROVAL = "auto_with_approval"
    AUTO_WITH_NOTIFICATION = "auto_with_notification"

    @property
    def rank(self) -> int:
        """Position in the order above."""
        return _TIER_RANK[self]


class RiskBand(StrEnum):
    """Risk of a call that waits for approval, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order above."""
        return _BAND_RANK[self]


_TIER_RANK = {tier: i for i, tier in enumerate(Tier)}
_BAND_RANK = {band: i for i, band in enumerate(RiskBand)}


class Effect(StrEnum):
    """What a matching policy does: ``@effect`` on permits; forbids always deny."""

    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantProfile(_Frozen):
    """A tenant: the email domains that count as its own."""

    domains: tuple[str, ...] = ()


class AgentProfile(_Frozen):
    """An agent's autonomy tier and the scopes it holds."""

    tier: Tier = Tier.SUGGEST
    scopes: tuple[str, ...] = ()


class ToolProfile(_Frozen):
    """A cap on the autonomy any agent has with this tool."""

    tier: Tier = Tier.AUTO_WITH_NOTIFICATION


class Manifest(_Frozen):
    """``manifest.yaml`` of a bundle: its identity and the data its policies refer to."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    schema_file: str = Field(default="schema.cedarschema", alias="schema")
    tenants: dict[str, TenantProfile] = Field(default_factory=dict)
    agents: dict[str, AgentProfile] = Field(default_factory=dict)
    default_agent: AgentProfile = AgentProfile()
    tools: dict[str, ToolProfile] = Field(default_factory=dict)

    def agent(self, name: str | None) -> AgentProfile:
        """The profile of agent ``name`` (the default for unnamed or unknown agents)."""
        return self.agents.get(name or "", self.default_agent)

    def tier_of(self, agent: str | None, tool: str) -> Tier:
        """The stricter of the agent's tier and the tool's cap."""
        cap = self.tools.get(tool, ToolProfile()).tier
        own = self.agent(agent).tier
        return own if own.rank <= cap.rank else cap


@dataclass(frozen=True)
class PolicyRule:
    """One policy of a bundle, as its annotations describe it.

    Attributes:
        id: The ``@id``; unique in the bundle, listed in decisions.
        effect: DENY for forbids; ALLOW or REQUIRE_APPROVAL for permits.
        reason: Template of the explanation (see :mod:`.reasons`).
        risk_band: For REQUIRE_APPROVAL: how risky the call is.
        approver_role: For REQUIRE_APPROVAL: who must approve.
    """

    id: str
    effect: Effect
    reason: str
    risk_band: RiskBand | None = None
    approver_role: str | None = None


@dataclass(frozen=True)
class Bundle:
    """A loaded, validated bundle's identity and rules (no engine state).

    Attributes:
        manifest: The parsed manifest.
        digest: SHA-256 over the bundle's files (:func:`digest_of`).
        rules: Every policy by id, in bundle order.
    """

    manifest: Manifest
    digest: str
    rules: Mapping[str, PolicyRule] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The manifest's version."""
        return self.manifest.version


def digest_of(files: Mapping[str, bytes]) -> str:
    """SHA-256 over ``files`` (relative POSIX path -> content) in path order.

    Each file contributes ``<path>\\n<sha256 of content>\\n``, so renaming a file
    or moving bytes from one file to another changes the digest too.
    """
    outer = hashlib.sha256()
    for path in sorted(files):
        outer.update(f"{path}\n{hashlib.sha256(files[path]).hexdigest()}\n".encode())
    return outer.hexdigest()


_DEFAULT_REASONS = {
    Effect.ALLOW: "policy {policy} permits {tool}",
    Effect.REQUIRE_APPROVAL: "policy {policy} requires approval for {tool}",
    Effect.DENY: "policy {policy} forbids {tool}",
}


def rule_from_annotations(kind: str, annotations: Mapping[str, str]) -> PolicyRule:
    """The rule a ``permit``/``forbid`` policy with ``annotations`` stands for.

    Raises:
        ConfigError: No ``@id``, an unknown ``@effect`` or ``@risk_band``, an
            effect on a forbid, an approval without its band and role, or a
            reason template that does not parse.
    """
    policy_id = annotations.get("id", "")
    if not policy_id:
        raise ConfigError(f"every policy needs an @id annotation ({kind} without one)")
    effect = _effect(policy_id, kind, annotations.get("effect"))
    band, role = annotations.get("risk_band"), annotations.get("approver_role")
    if effect is Effect.REQUIRE_APPROVAL and not (band and role):
        raise ConfigError(
            f"policy {policy_id}: require_approval needs @risk_band and @approver_role"
        )
    try:
        risk = RiskBand(band) if band else None
    except ValueError:
        raise ConfigError(f"policy {policy_id}: unknown @risk_band {band!r}") from None
    reason = annotations.get("reason") or _DEFAULT_REASONS[effect].replace("{policy}", policy_id)
    check_template(reason, what=f"policy {policy_id}")
    return PolicyRule(policy_id, effect, reason, risk, role or None)


def _effect(policy_id: str, kind: str, annotated: str | None) -> Effect:
    if kind == "forbid":
        if annotated not in (None, Effect.DENY.value):
            raise ConfigError(f"policy {policy_id}: a forbid cannot have @effect({annotated!r})")
        return Effect.DENY
    if annotated is None:
        return Effect.ALLOW
    if annotated not in (Effect.ALLOW.value, Effect.REQUIRE_APPROVAL.value):
        raise ConfigError(f"policy {policy_id}: unknown @effect({annotated!r}) on a permit")
    return Effect(annotated)
