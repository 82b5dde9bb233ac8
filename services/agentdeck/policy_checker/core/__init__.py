"""The policy-checker's pure core: facts, evaluation, guards, decisions, settlements.

Nothing here does I/O. The Cedar engine sits behind :class:`PolicyEngine`, so
:func:`evaluate` is a pure function of a loaded bundle and the facts of the
requests. :func:`pipeline` (facts, policies, platform guards, draft) is how
the service, shadow mode, replay and policy backtesting all decide.
"""

from __future__ import annotations

from agentdeck.policy_checker.core.budget import (
    CHARGING,
    Charge,
    HoldRef,
    RefKey,
    RefKind,
    Settlement,
    approval_key,
    call_key,
    cancelled_releases,
    charges,
    hold_ref,
    ref_key,
    settlements,
)
from agentdeck.policy_checker.core.bundle import (
    AgentProfile,
    Bundle,
    Effect,
    Manifest,
    PolicyRule,
    RiskBand,
    TenantProfile,
    Tier,
    ToolProfile,
    digest_of,
    rule_from_annotations,
)
from agentdeck.policy_checker.core.decide import (
    BUDGET,
    DecisionRecord,
    Draft,
    HeldBudget,
    Hold,
    HoldOutcome,
    Ttls,
    draft,
    planned_holds,
    record_for,
    tenant_scope,
)
from agentdeck.policy_checker.core.emit import SigningKey, events_for, signed
from agentdeck.policy_checker.core.engine import Answer, PolicyEngine
from agentdeck.policy_checker.core.evaluate import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    Verdict,
    evaluate,
    verdict_of,
)
from agentdeck.policy_checker.core.facts import (
    NO_BUDGET,
    Arguments,
    BudgetView,
    CallFacts,
    ToolFacts,
    parse_arguments,
)
from agentdeck.policy_checker.core.gather import (
    Catalog,
    Snapshot,
    charged,
    divergent,
    facts_for,
    gather,
)
from agentdeck.policy_checker.core.guards import (
    ARGUMENTS,
    KILL_SWITCH,
    TOOL_VERSION,
    UNKNOWN_TOOL,
    guarded,
)
from agentdeck.policy_checker.core.pipeline import (
    NEUTRAL_BUDGET,
    Drafted,
    guarded_verdicts,
    pipeline,
)

__all__ = [
    "ARGUMENTS",
    "BUDGET",
    "CHARGING",
    "DEFAULT_DENY",
    "EVALUATION_ERROR",
    "KILL_SWITCH",
    "NEUTRAL_BUDGET",
    "NO_BUDGET",
    "TOOL_VERSION",
    "UNKNOWN_TOOL",
    "AgentProfile",
    "Answer",
    "Arguments",
    "BudgetView",
    "Bundle",
    "CallFacts",
    "Catalog",
    "Charge",
    "DecisionRecord",
    "Draft",
    "Drafted",
    "Effect",
    "HeldBudget",
    "Hold",
    "HoldOutcome",
    "HoldRef",
    "Manifest",
    "PolicyEngine",
    "PolicyRule",
    "RefKey",
    "RefKind",
    "RiskBand",
    "Settlement",
    "SigningKey",
    "Snapshot",
    "TenantProfile",
    "Tier",
    "ToolFacts",
    "ToolProfile",
    "Ttls",
    "Verdict",
    "approval_key",
    "call_key",
    "cancelled_releases",
    "charged",
    "charges",
    "digest_of",
    "divergent",
    "draft",
    "evaluate",
    "events_for",
    "facts_for",
    "gather",
    "guarded",
    "guarded_verdicts",
    "hold_ref",
    "parse_arguments",
    "pipeline",
    "planned_holds",
    "record_for",
    "ref_key",
    "rule_from_annotations",
    "settlements",
    "signed",
    "tenant_scope",
    "verdict_of",
]
