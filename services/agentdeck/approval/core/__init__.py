"""Pure decisions of the approval service: opening cases, votes, timers, outcome events.

Nothing here does I/O or reads the clock; time and the signer are passed in.
"""

from __future__ import annotations

from agentdeck.approval.core.access import ALL_TENANTS, Principal, acting_as, entitled, tenant_of
from agentdeck.approval.core.events import (
    OutcomeEvent,
    SignerPort,
    escalated_event,
    outcome_event,
)
from agentdeck.approval.core.model import (
    DEFAULT_OUTCOME,
    Approver,
    Case,
    CaseStatus,
    Rules,
    Verdict,
    Vote,
)
from agentdeck.approval.core.opening import (
    InvalidDecision,
    approval_id_of,
    approver_role,
    needs_case,
    open_case,
    requester,
    risk_band,
)
from agentdeck.approval.core.timers import Escalate, Expire, TimerAction, on_run_ended, on_timer
from agentdeck.approval.core.voting import Closed, Recorded, Rejection, VoteResult, cast

__all__ = [
    "ALL_TENANTS",
    "DEFAULT_OUTCOME",
    "Approver",
    "Case",
    "CaseStatus",
    "Closed",
    "Escalate",
    "Expire",
    "InvalidDecision",
    "OutcomeEvent",
    "Principal",
    "Recorded",
    "Rejection",
    "Rules",
    "SignerPort",
    "TimerAction",
    "Verdict",
    "Vote",
    "VoteResult",
    "acting_as",
    "approval_id_of",
    "approver_role",
    "cast",
    "entitled",
    "escalated_event",
    "needs_case",
    "on_run_ended",
    "on_timer",
    "open_case",
    "outcome_event",
    "requester",
    "risk_band",
    "tenant_of",
]
