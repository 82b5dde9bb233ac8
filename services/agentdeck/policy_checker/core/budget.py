"""Settling budget holds: a completed call spends, a failed or refused one gives back.

The settlement is the outcome event itself (``ToolCallCompleted.cost_micros``,
a failure or refusal releases at zero); since the event model v3 no
BudgetSettled is published: the policy-checker closes the hold in its store.

A model call needs no hold: it has happened by the time its ``LlmCallRecorded``
arrives, so its cost is charged (:class:`Charge`) to the tenant's budget and
the run's spend as it is, even past the limit; the next hold then finds what
the model spent.

A decision that holds budget is remembered twice, under its call's idempotency
key (tool results name the call) and, when it waits for a human, under its
approval id (approval outcomes name the approval): see :class:`RefKey`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from agentdeck.contracts import Event
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    KillSwitchScope,
    KillSwitchSet,
    LlmCallRecorded,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallRequested,
)
from agentdeck.policy_checker.core.decide import DecisionRecord, tenant_scope

__all__ = [
    "CHARGING",
    "SETTLING",
    "Charge",
    "HoldRef",
    "RefKey",
    "RefKind",
    "Settlement",
    "approval_key",
    "call_key",
    "cancelled_releases",
    "charges",
    "hold_ref",
    "ref_key",
    "settlements",
]

_DENYING = {"deny", "denied"}


class RefKind(StrEnum):
    """What names a hold in the events that settle it."""

    CALL = "call"
    APPROVAL = "approval"


class RefKey(NamedTuple):
    """Where a hold is found: by the idempotency key of its call, or by its approval id."""

    kind: RefKind
    key: str


def call_key(idempotency_key: str) -> RefKey:
    """Where the hold of a call is found by its idempotency key."""
    return RefKey(RefKind.CALL, idempotency_key)


def approval_key(approval_id: str) -> RefKey:
    """Where the hold of a parked call is found by its approval id."""
    return RefKey(RefKind.APPROVAL, approval_id)


class HoldRef(BaseModel):
    """What settling a hold needs to know about it."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str
    scope: str
    amount_micros: int
    run_id: str | None
    idempotency_key: str
    approval_id: str | None = None

    def stored_under(self) -> list[RefKey]:
        """Every key it is stored under."""
        keys = [call_key(self.idempotency_key)]
        return keys + ([approval_key(self.approval_id)] if self.approval_id else [])


def hold_ref(record: DecisionRecord, request: ToolCallRequested) -> HoldRef | None:
    """The reference to keep for a decision that holds budget."""
    if record.hold is None:
        return None
    return HoldRef(
        reservation_id=record.hold.reservation_id,
        scope=record.hold.scope,
        amount_micros=record.hold.amount_micros,
        run_id=request.envelope.run_id,
        idempotency_key=request.idempotency_key,
        approval_id=record.approval_id,
    )


@dataclass(frozen=True)
class Settlement:
    """Close ``ref``'s hold: spend ``actual_micros``, or give it all back when None."""

    ref: HoldRef
    actual_micros: int | None
    cause: Event | None
    """The event that settles it; None: released as stale (see the hold sweeper)."""


SETTLING: tuple[type[Event], ...] = (
    ToolCallCompleted,
    ToolCallFailed,
    ApprovalDenied,
    ApprovalExpired,
)
"""The event types that can settle a hold (see :func:`ref_key`)."""


def ref_key(event: Event) -> RefKey | None:
    """The key of the hold ``event`` settles, if it settles one."""
    if isinstance(event, ToolCallCompleted | ToolCallFailed):
        return call_key(event.idempotency_key)
    if isinstance(event, ApprovalDenied):
        return approval_key(event.approval_id)
    if isinstance(event, ApprovalExpired) and event.outcome.lower() in _DENYING:
        return approval_key(event.approval_id)
    return None


def settlements(events: Sequence[Event], refs: Mapping[RefKey, HoldRef]) -> list[Settlement]:
    """What ``events`` settle, each hold once (the first event wins)."""
    done: set[str] = set()
    found: list[Settlement] = []
    for event in events:
        key = ref_key(event)
        ref = refs.get(key) if key else None
        if ref is None or ref.reservation_id in done:
            continue
        done.add(ref.reservation_id)
        actual = event.cost_micros if isinstance(event, ToolCallCompleted) else None
        found.append(Settlement(ref, actual, event))
    return found


def cancelled_releases(
    events: Sequence[KillSwitchSet], refs: Mapping[str, Sequence[HoldRef]]
) -> list[Settlement]:
    """The holds the cancellations among ``events`` give back, each once.

    ``refs`` are the open holds by run. An engaged RUN switch cancels its run:
    its calls parked for a human are given back now, since no approval of them
    can be granted any more and their approval case may stay open for hours.
    Its other open holds belong to calls on their way to the executor, which
    refuses them (or has already run them) and whose outcome settles the hold
    as it always does: releasing those here would drop the spend of a call
    already running. (A parked call granted just before the cancel and already
    running is released here all the same: its spend goes unrecorded.)
    """
    done: set[str] = set()
    found: list[Settlement] = []
    for event in events:
        if event.scope is not KillSwitchScope.RUN or not event.engaged:
            continue
        for ref in refs.get(event.target, ()):
            if ref.approval_id is None or ref.reservation_id in done:
                continue
            done.add(ref.reservation_id)
            found.append(Settlement(ref, None, event))
    return found


@dataclass(frozen=True)
class Charge:
    """Spend that needs no hold (a model call): added to ``scope`` and to the run's spend.

    Attributes:
        charge_id: The event id of what is charged; charging it again charges nothing.
        scope: The budget it is charged to (the tenant's).
        run_id: The run it is spent by, if any.
        amount_micros: What it cost.
    """

    charge_id: str
    scope: str
    run_id: str | None
    amount_micros: int


CHARGING: tuple[type[Event], ...] = (LlmCallRecorded,)
"""The event types charged to budgets as they are (see :func:`charges`)."""


def charges(events: Iterable[Event]) -> list[Charge]:
    """What ``events`` charge: each model call that cost something, once."""
    found: dict[str, Charge] = {}
    for event in events:
        if not isinstance(event, LlmCallRecorded) or event.cost_micros <= 0:
            continue
        env = event.envelope
        found.setdefault(
            env.event_id,
            Charge(env.event_id, tenant_scope(env.tenant), env.run_id, event.cost_micros),
        )
    return list(found.values())
