"""What the passage of time does to an open case: escalate once, then expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentdeck.approval.core.model import Case, CaseStatus

__all__ = ["Escalate", "Expire", "TimerAction", "on_run_ended", "on_timer"]


@dataclass(frozen=True)
class Escalate:
    """The case goes one level up the escalation chain; the deadline stays."""

    case: Case


@dataclass(frozen=True)
class Expire:
    """Nobody decided in time; the default outcome (deny) applies."""

    case: Case


TimerAction = Escalate | Expire


def on_timer(case: Case, now: datetime) -> TimerAction | None:
    """What is due for ``case`` at ``now``; None if nothing is.

    Past the deadline the case expires, even if it was never escalated (the
    service was down through both points); before it, a level-0 case past its
    escalation point escalates.
    """
    if not case.is_open:
        return None
    if now >= case.deadline:
        return Expire(case.model_copy(update={"status": CaseStatus.EXPIRED, "decided_at": now}))
    if case.level == 0 and case.escalate_to and case.escalate_at and now >= case.escalate_at:
        return Escalate(
            case.model_copy(
                update={"status": CaseStatus.ESCALATED, "level": 1, "escalated_at": now}
            )
        )
    return None


def on_run_ended(case: Case, now: datetime) -> Expire | None:
    """Its run ended (completed, failed, cancelled): an open case expires, nobody may grant it.

    A grant would otherwise run a call of a run that is over (its deadline
    passed while the call waited for a human, say).
    """
    if not case.is_open:
        return None
    return Expire(case.model_copy(update={"status": CaseStatus.EXPIRED, "decided_at": now}))
