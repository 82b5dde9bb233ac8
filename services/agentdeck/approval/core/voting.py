"""Who may decide a case, and what one verdict does to it.

Rules, in the order they are checked:

1. A closed case takes no more verdicts (``already_decided``); neither does
   one past its deadline (``deadline_passed``), which the sweeper expires.
   A case an engaged kill switch covers takes no approval
   (``kill_switch_engaged``, or ``run_cancelled`` when the switch is the
   run's own); a denial is still taken.
2. Separation of duties: the requester may not decide their own request
   (``requester_cannot_decide``), in either direction.
3. The approver must hold the requested role, or the escalation role once the
   case is escalated (``wrong_role``).
4. Each approver counts once (``already_voted``).
5. One denial closes the case as denied; approvals close it as granted once
   ``quorum`` distinct approvers agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentdeck.approval.core.model import Approver, Case, CaseStatus, Verdict, Vote
from agentdeck.contracts.models import ApprovalRequested
from agentdeck.controls import Switch, refusal_code, stopped_message

__all__ = ["Closed", "Recorded", "Rejection", "VoteResult", "cast"]


@dataclass(frozen=True)
class Rejection:
    """The verdict was refused; nothing changes.

    Attributes:
        code: Stable machine-readable reason.
        message: What happened, for the approver.
        options: What the approver can do instead.
    """

    code: str
    message: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """An approval was counted; the case waits for more approvers."""

    case: Case


@dataclass(frozen=True)
class Closed:
    """The verdict closed the case (granted or denied)."""

    case: Case


VoteResult = Rejection | Recorded | Closed


def _same_person(left: str, right: str) -> bool:
    return left.strip().casefold() == right.strip().casefold()


def _requesters(request: ApprovalRequested) -> tuple[str, ...]:
    """Everyone on whose behalf the call runs: the human (or system) that asked, and the agent."""
    return tuple(who for who in (request.requested_by, request.envelope.agent) if who)


def _closed(case: Case, now: datetime) -> Rejection | None:
    request = case.request
    if not case.is_open:
        return Rejection(
            "already_decided",
            f"approval {case.approval_id} is already {case.status.value}",
            (f"GET /approvals/{case.approval_id} to see the decision",),
        )
    if now >= case.deadline:
        return Rejection(
            "deadline_passed",
            f"approval {case.approval_id} passed its deadline; the default outcome "
            f"({request.default_outcome}) applies",
            ("ask the requester to retry the call",),
        )
    return None


def _stopped(case: Case, verdict: Verdict, stopped: Switch | None) -> Rejection | None:
    if stopped is None or verdict is not Verdict.APPROVE:
        return None
    return Rejection(
        refusal_code(stopped),
        f"approval {case.approval_id} cannot be granted: {stopped_message(stopped)}",
        (
            "deny the request, or wait until an operator releases the switch",
            f"ask {stopped.set_by} why the switch is engaged",
        ),
    )


def _who(case: Case, approver: Approver) -> Rejection | None:
    request = case.request
    if any(_same_person(approver.name, who) for who in _requesters(request)):
        return Rejection(
            "requester_cannot_decide",
            f"{approver.name} requested this call and may not decide on it (separation of duties)",
            (f"ask another approver with role {request.approver_role}",),
        )
    if approver.role not in case.eligible_roles:
        roles = " or ".join(sorted(case.eligible_roles))
        return Rejection(
            "wrong_role",
            f"approval {case.approval_id} needs role {roles}; {approver.name} acts as "
            f"{approver.role}",
            (f"ask an approver with role {roles}",),
        )
    if any(_same_person(vote.approver, approver.name) for vote in case.votes):
        return Rejection(
            "already_voted",
            f"{approver.name} already approved {case.approval_id}; "
            f"{request.quorum} distinct approvers are needed",
            (f"ask another approver with role {request.approver_role}",),
        )
    return None


def cast(
    case: Case,
    approver: Approver,
    verdict: Verdict,
    comment: str | None,
    now: datetime,
    *,
    stopped: Switch | None = None,
) -> VoteResult:
    """Apply one approver's verdict to ``case`` at ``now``.

    Args:
        stopped: The engaged kill switch that covers the case's call, if any.
    """
    # A grant in a stopped scope is refused for that reason first: the case of a cancelled
    # run may already have closed with the run, and "cancelled" is what the approver needs.
    refusal = _stopped(case, verdict, stopped) or _closed(case, now) or _who(case, approver)
    if refusal is not None:
        return refusal
    vote = Vote(
        approver=approver.name, role=approver.role, verdict=verdict, comment=comment, at=now
    )
    votes = (*case.votes, vote)
    if verdict is Verdict.DENY:
        return Closed(case.model_copy(update=_closing(CaseStatus.DENIED, votes, now)))
    if len(votes) >= case.request.quorum:
        return Closed(case.model_copy(update=_closing(CaseStatus.GRANTED, votes, now)))
    return Recorded(case.model_copy(update={"votes": votes}))


def _closing(status: CaseStatus, votes: tuple[Vote, ...], now: datetime) -> dict[str, object]:
    return {"status": status, "votes": votes, "decided_at": now}
