"""Decisions in, approval requests out: the consumer of the ``decisions`` topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agentdeck.approval.adapters.cases import CaseStore
from agentdeck.approval.adapters.webhook import Notifier
from agentdeck.approval.core import Case, Rules, approval_id_of, needs_case, open_case
from agentdeck.approval.core.events import SignerPort, outcome_event
from agentdeck.approval.core.model import OPEN_STATUSES
from agentdeck.approval.desk import ApprovalDesk
from agentdeck.contracts import Event, Producer
from agentdeck.contracts.models import PolicyDecided, RunCancelled, RunCompleted, RunFailed
from agentdeck.errors import TerminalError
from agentdeck.kafka import Inbound, Outcome
from agentdeck.runtime import Clock, Decision
from agentdeck.signing import Verifier, decision_signature_problem

__all__ = ["DecisionHandler", "RunsEnded"]


@dataclass(frozen=True)
class _Opened:
    cases: list[Case]
    sealed: dict[str, str]
    now: datetime


def _wanting_a_case(batch: Sequence[Inbound]) -> list[PolicyDecided]:
    return [i.event for i in batch if isinstance(i.event, PolicyDecided) and needs_case(i.event)]


class DecisionHandler:
    """Opens a case for every REQUIRE_APPROVAL decision; ignores everything else.

    The runtime's stateful shape (:func:`agentdeck.runtime.transactional`):
    cases are stored after their ApprovalRequested events are acknowledged,
    then the webhook is nudged (:meth:`committed`). Only the decisions that
    need a case are recorded as processed, so the ALLOW decisions of every step
    cost no write; a redelivered one is ignored again, and a redelivered
    REQUIRE_APPROVAL decision finds its case (same approval id) and opens nothing.
    If that case is closed, its outcome is published again (:meth:`replay`, same
    id and signature): the decision comes again when the planner re-drives a run
    whose grant, denial or expiry never reached it (a broker that lost its log).
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
        signer: SignerPort | None = None,
    ) -> None:
        """Args:
        signer: Signs a closed case's outcome published again; None: nothing is.
        """
        self._signer = signer
        self._cases = cases
        self._rules = rules
        self._identity = identity
        self._clock = clock
        self._notifier = notifier
        self._verifier = Verifier(policy_keys) if policy_keys else None

    def load(self, conn: Connection, batch: Sequence[Inbound]) -> set[str]:
        """The approval ids of the batch's decisions that have a case already."""
        ids = {approval_id_of(d) for d in _wanting_a_case(batch)}
        return self._cases.known(conn, ids) if ids else set()

    def decide(self, state: set[str], batch: Sequence[Inbound]) -> Decision[_Opened]:
        """A case (and its ApprovalRequested) for each signed decision without one."""
        wanted: dict[str, PolicyDecided] = {}
        for decision in _wanting_a_case(batch):
            self._check_signature(decision)
            wanted.setdefault(approval_id_of(decision), decision)
        now = self._clock()
        cases = [
            open_case(decision, self._rules, now=now, producer=self._identity)
            for approval_id, decision in wanted.items()
            if approval_id not in state
        ]
        done = [d.envelope.event_id for d in _wanting_a_case(batch)]
        opened = _Opened(cases, self._cases.sealed(cases), now)
        return Decision(opened, [c.request for c in cases], done)

    def save(self, conn: Connection, decision: Decision[_Opened]) -> None:
        """Store the new cases."""
        opened = decision.state
        self._cases.write(conn, opened.cases, opened.sealed, opened.now)

    def replay(self, conn: Connection, seen: Sequence[Inbound]) -> list[Event]:
        """The outcomes of the closed cases of decisions already handled, again."""
        ids = list(dict.fromkeys(approval_id_of(d) for d in _wanting_a_case(seen)))
        if not ids or self._signer is None:
            return []
        closed = [s.case for s in self._cases.of(conn, ids) if s.case.status not in OPEN_STATUSES]
        return [outcome_event(case, self._signer, self._identity) for case in closed]

    def committed(self, decision: Decision[Any]) -> None:
        """Nudge the webhook about each new case (best effort)."""
        for case in decision.state.cases:
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


ENDED = (RunCompleted, RunFailed, RunCancelled)
"""The run outcomes that close a run's open cases."""


class RunsEnded:
    """Expires the open cases of runs that ended (a loop handler of the ``runs`` topic).

    The desk writes each expiry with its outbox and publishes it; a redelivered
    outcome finds the cases closed and does nothing.
    """

    def __init__(self, desk: ApprovalDesk) -> None:
        self._desk = desk

    def __call__(self, batch: Sequence[Inbound]) -> Outcome:
        """Close the cases of the runs the batch's outcomes end."""
        runs = {i.event.envelope.run_id for i in batch if isinstance(i.event, ENDED)}
        self._desk.close_runs([r for r in runs if r])
        return Outcome([])
