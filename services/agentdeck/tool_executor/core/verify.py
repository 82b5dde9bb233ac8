"""Checks a decision or an approval outcome must pass before anything runs."""

from __future__ import annotations

from datetime import datetime

from agentdeck.contracts.models import PolicyDecided
from agentdeck.hashing import sha256_hex
from agentdeck.signing import (
    ApprovalOutcome,
    Verifier,
    approval_id_problem,
    approval_signature_problem,
    decision_signature_problem,
)
from agentdeck.tool_executor.core.errors import ApprovalRefused, DecisionRefused
from agentdeck.tools import ToolContract, ToolRegistry, version_compatible

__all__ = ["check_approval_signature", "check_decision"]


def _check_signature(decision: PolicyDecided, keys: Verifier) -> None:
    problem = decision_signature_problem(decision, keys)
    if problem == "unknown_key":
        raise DecisionRefused(
            problem,
            f"decision {decision.decision_id} is signed with unknown key {decision.key_id!r}",
            "configure the policy-checker's public key on the executor",
        )
    if problem is not None:
        raise DecisionRefused(
            problem, f"decision {decision.decision_id} does not carry a valid signature"
        )


def _check_call(decision: PolicyDecided, now: datetime | None) -> None:
    if decision.arguments_json is None or not decision.idempotency_key:
        raise DecisionRefused(
            "incomplete_decision",
            f"decision {decision.decision_id} lacks the arguments or idempotency key",
            "upgrade the policy-checker to emit PolicyDecided v2",
        )
    if sha256_hex(decision.arguments_json) != decision.arguments_hash:
        raise DecisionRefused(
            "arguments_mismatch",
            f"decision {decision.decision_id}: arguments do not match the signed hash",
        )
    if now is not None and decision.expires_at is not None and decision.expires_at <= now:
        raise DecisionRefused(
            "decision_expired",
            f"decision {decision.decision_id} expired at {decision.expires_at.isoformat()}",
        )
    problem = approval_id_problem(decision)
    if problem is not None:
        raise DecisionRefused("approval_mismatch", problem)


def _check_tool(decision: PolicyDecided, tools: ToolRegistry) -> ToolContract:
    if decision.tool not in tools:
        raise DecisionRefused(
            "unknown_tool",
            f"this executor has no tool {decision.tool!r}",
            f"use one of: {', '.join(tools.names())}",
            "run an executor that registers the tool",
        )
    contract = tools.contract(decision.tool)
    if not version_compatible(decision.tool_version, contract.version):
        raise DecisionRefused(
            "tool_version_incompatible",
            f"decision is for {decision.tool} {decision.tool_version},"
            f" this executor runs {contract.version}",
            "re-plan the step against the deployed tool version",
        )
    return contract


def check_decision(
    decision: PolicyDecided, *, keys: Verifier, tools: ToolRegistry, now: datetime | None
) -> ToolContract:
    """The contract of the decided tool, if ``decision`` may be acted on.

    ``now`` None checks everything but the expiry: for a call this decision already
    began (claimed), whose outcome is only reconciled, never started anew.

    Raises:
        DecisionRefused: The first check that fails, by its ``code``.
    """
    _check_signature(decision, keys)
    _check_call(decision, now)
    return _check_tool(decision, tools)


def check_approval_signature(event: ApprovalOutcome, keys: Verifier) -> None:
    """Raise :class:`ApprovalRefused` unless the approval service signed ``event``."""
    problem = approval_signature_problem(event, keys)
    if problem is not None:
        raise ApprovalRefused(
            problem,
            f"approval {event.approval_id}: {problem.replace('_', ' ')} (key {event.key_id!r})",
            "configure the approval service's public key on the executor",
        )
