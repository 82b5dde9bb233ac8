"""Decisions in, approval requests out: the consumer of the ``decisions`` topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from agentdeck.approval.adapters.cases import CaseStore
from agentdeck.approval.adapters.webhook import Notifier
from agentdeck.approval.core import Case, Rules, approval_id_of, needs_case, open_case
from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import PolicyDecided
from agentdeck.errors import TerminalError
from agentdeck.kafka import Inbound, Outcome
from agentdeck.runtime import Clock
from agentdeck.signing import Verifier, decision_signature_problem

__all__ = ["DecisionHandler"]


class DecisionHandler:
    """Opens a case for every REQUIRE_APPROVAL decision; ignores everything else.

    A redelivered decision finds its case (same approval id) and opens
    nothing. Cases are stored by the outcome's ``commit``, after their
    ApprovalRequested events are acknowledged; then the webhook is nudged.
    """

    def __init__(
        self,
        cases: CaseStore,
        rules: Rules,
        *,
        identity: Producer,
        clock: Clock,
        notifier: Notifier,
        policy_keys: Mapping[str, str] | None = None,
    ) -> None:
        self._cases = cases
        self._rules = rules
        self._identity = identity
        self._clock = clock
        self._notifier = notifier
        self._verifier = Verifier(policy_keys) if policy_keys else None

    def __call__(self, batch: Sequence[Inbound]) -> Sequence[Event] | Outcome:
        """Handle one batch of the ``decisions`` topic."""
        wanted: dict[str, PolicyDecided] = {}
        for item in batch:
            event = item.event
            if isinstance(event, PolicyDecided) and needs_case(event):
                self._check_signature(event)
                wanted.setdefault(approval_id_of(event), event)
        if not wanted:
            return ()
        known = self._cases.known(list(wanted))
        now = self._clock()
        cases = [
            open_case(decision, self._rules, now=now, producer=self._identity)
            for approval_id, decision in wanted.items()
            if approval_id not in known
        ]
        return Outcome([c.request for c in cases], lambda: self._store(cases, now))

    def _store(self, cases: list[Case], now: datetime) -> None:
        self._cases.create(cases, now)
        for case in cases:
            self._notifier.notify(case.request)

    def _check_signature(self, decision: PolicyDecided) -> None:
        if self._verifier is None:
            return
        problem = decision_signature_problem(decision, self._verifier)
        if problem is not None:
            raise TerminalError(
                f"decision {decision.decision_id} is not signed by a known policy key:"
                f" {problem.replace('_', ' ')} (key {decision.key_id!r})",
                capability="approval.verify",
                code="bad_decision_signature",
                remediation=("check the policy-checker's key and policy_verify_keys",),
            )
