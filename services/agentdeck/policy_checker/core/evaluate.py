"""Evaluating requests against a bundle: a pure function, the policies' step of the pipeline.

Cedar itself says allow or deny. Annotations on the matching policies turn
that into the platform's three outcomes, the most restrictive winning:

1. any matching ``forbid`` -> DENY (its ``@reason``s explain why);
2. no matching ``permit`` -> DENY (``platform.default-deny``: "no policy permits ...");
3. any matching permit with ``@effect("require_approval")`` -> REQUIRE_APPROVAL,
   with the highest ``@risk_band`` among them and that policy's ``@approver_role``;
4. otherwise ALLOW.

A policy that fails to evaluate fails closed: if Cedar would allow, the
verdict is DENY and names the failing policies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentdeck.contracts.models import DecisionOutcome
from agentdeck.policy_checker.core.bundle import Bundle, Effect, PolicyRule, RiskBand
from agentdeck.policy_checker.core.cedar_json import (
    context_for,
    entities_for,
    reason_facts,
    request_with,
)
from agentdeck.policy_checker.core.engine import Answer, PolicyEngine
from agentdeck.policy_checker.core.facts import CallFacts
from agentdeck.policy_checker.core.reasons import render

__all__ = ["DEFAULT_DENY", "EVALUATION_ERROR", "Verdict", "evaluate", "verdict_of"]

EVALUATION_ERROR = "platform.evaluation-error"
DEFAULT_DENY = "platform.default-deny"
"""Named in a DENY no policy caused: nothing permitted the call."""


@dataclass(frozen=True)
class Verdict:
    """What the policies decided for one call, before budgets are held.

    Attributes:
        outcome: ALLOW, DENY or REQUIRE_APPROVAL.
        matched: Ids of the policies that determined the outcome, in bundle order.
        reason: The explanation, for humans.
        risk_band: For REQUIRE_APPROVAL: the highest band of the matching policies.
        approver_role: For REQUIRE_APPROVAL: who must approve.
    """

    outcome: DecisionOutcome
    matched: tuple[str, ...]
    reason: str
    risk_band: RiskBand | None = None
    approver_role: str | None = None


def evaluate(engine: PolicyEngine, calls: Sequence[CallFacts]) -> list[Verdict]:
    """The verdict of ``engine``'s bundle on each call, in one batch."""
    if not calls:
        return []
    manifest = engine.bundle.manifest
    contexts = [context_for(manifest, facts) for facts in calls]
    requests = [request_with(f, c) for f, c in zip(calls, contexts, strict=True)]
    answers = engine.authorize(requests, entities_for(manifest, calls))
    return [
        verdict_of(engine.bundle, f, a, c) for f, a, c in zip(calls, answers, contexts, strict=True)
    ]


def verdict_of(
    bundle: Bundle, facts: CallFacts, answer: Answer, context: dict[str, Any] | None = None
) -> Verdict:
    """Turn Cedar's answer into the platform's outcome (see the module doc).

    ``context`` is the request's Cedar context if the caller already built it.
    """
    rules = [bundle.rules[p] for p in bundle.rules if p in answer.policies]
    if answer.allowed and answer.errors:
        reason = "a policy failed to evaluate, so the call is refused: " + "; ".join(answer.errors)
        return Verdict(DecisionOutcome.DENY, (EVALUATION_ERROR,), reason)
    if not answer.allowed:
        if not rules:
            return Verdict(DecisionOutcome.DENY, (DEFAULT_DENY,), _nothing_permits(facts))
        return Verdict(DecisionOutcome.DENY, _ids(rules), _explain(bundle, facts, rules, context))
    asking = [r for r in rules if r.effect is Effect.REQUIRE_APPROVAL]
    if asking:
        top = max(asking, key=lambda r: r.risk_band.rank if r.risk_band else -1)
        return Verdict(
            DecisionOutcome.REQUIRE_APPROVAL,
            _ids(asking),
            _explain(bundle, facts, asking, context),
            top.risk_band,
            top.approver_role,
        )
    return Verdict(DecisionOutcome.ALLOW, _ids(rules), _explain(bundle, facts, rules, context))


def _ids(rules: Sequence[PolicyRule]) -> tuple[str, ...]:
    return tuple(r.id for r in rules)


def _explain(
    bundle: Bundle,
    facts: CallFacts,
    rules: Sequence[PolicyRule],
    context: dict[str, Any] | None,
) -> str:
    view = reason_facts(bundle.manifest, facts, context)
    return "; ".join(render(r.reason, view) for r in rules)


def _nothing_permits(facts: CallFacts) -> str:
    agent = facts.agent or "an unnamed agent"
    return f"no policy permits {facts.tool.name} for {agent} of tenant {facts.tenant}"
