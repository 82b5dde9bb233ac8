"""Decisions that wait for a human: one slot per approval id, folded over events.

A REQUIRE_APPROVAL decision parks in the slot of its ``approval_id``; the
approval service's signed ``ApprovalGranted`` for the same payload releases it,
once. A grant that arrives before its decision waits in the slot instead.
Signatures are checked before these functions run (:mod:`.verify`).
"""

from __future__ import annotations

import base64
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agentdeck.contracts.models import ApprovalGranted, PolicyDecided
from agentdeck.hashing import canonical_json
from agentdeck.tool_executor.core.errors import ApprovalRefused

__all__ = [
    "ApprovalSlot",
    "Release",
    "decision_from_json",
    "decision_to_json",
    "on_closed",
    "on_decision",
    "on_grant",
]

SlotState = Literal["waiting", "granted", "executed", "closed"]


class ApprovalSlot(BaseModel):
    """What the executor knows about one approval id.

    Attributes:
        approval_id: The approval request's id.
        state: ``waiting`` (decision parked), ``granted`` (grant before decision),
            ``executed`` (released once), ``closed`` (denied or expired first).
        decision: The parked decision, as :func:`decision_to_json` writes it.
        grant_event_id: The grant that released (or waits for) the decision.
        payload_hash: The payload hash that grant approved.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_id: str
    state: SlotState
    decision: str | None = None
    grant_event_id: str | None = None
    payload_hash: str | None = None


Release = tuple[ApprovalSlot, PolicyDecided | None]
"""The slot after an event, and the decision to execute now, if any."""


def decision_to_json(decision: PolicyDecided) -> str:
    """JSON of a decision, its signature in base64 (JSON cannot hold raw bytes)."""
    data = decision.model_dump(mode="json", exclude={"signature"})
    data["signature"] = base64.b64encode(decision.signature).decode()
    return canonical_json(data)


def decision_from_json(text: str) -> PolicyDecided:
    """The decision :func:`decision_to_json` wrote."""
    data = json.loads(text)
    data["signature"] = base64.b64decode(data["signature"])
    return PolicyDecided.model_validate(data)


def _release(slot: ApprovalSlot, decision: PolicyDecided, grant: str, payload: str) -> Release:
    if payload != decision.arguments_hash:
        raise ApprovalRefused(
            "payload_mismatch",
            f"approval {slot.approval_id} approved payload {payload[:12]}...,"
            f" the parked call is {decision.arguments_hash[:12]}...",
            "ask for approval of the exact call that is parked",
        )
    done = slot.model_copy(
        update={
            "state": "executed",
            "decision": decision_to_json(decision),
            "grant_event_id": grant,
            "payload_hash": payload,
        }
    )
    return done, decision


def on_decision(slot: ApprovalSlot | None, decision: PolicyDecided, approval_id: str) -> Release:
    """Park a verified REQUIRE_APPROVAL decision, or release it to a grant already waiting."""
    if slot is None:
        return ApprovalSlot(
            approval_id=approval_id, state="waiting", decision=decision_to_json(decision)
        ), None
    if slot.state == "granted" and slot.grant_event_id and slot.payload_hash:
        return _release(slot, decision, slot.grant_event_id, slot.payload_hash)
    return slot, None  # parked already, executed or closed: a redelivery changes nothing


def on_grant(slot: ApprovalSlot | None, grant: ApprovalGranted) -> Release:
    """Release the parked decision to a verified grant, once; or keep the grant waiting."""
    grant_id = grant.envelope.event_id
    if slot is None:
        waiting = ApprovalSlot(
            approval_id=grant.approval_id,
            state="granted",
            grant_event_id=grant_id,
            payload_hash=grant.payload_hash,
        )
        return waiting, None
    if slot.state == "closed":
        raise ApprovalRefused(
            "approval_closed", f"approval {slot.approval_id} was already denied or expired"
        )
    if slot.grant_event_id not in (None, grant_id):
        raise ApprovalRefused(
            "approval_replayed",
            f"approval {slot.approval_id} was already used by grant {slot.grant_event_id}",
            "a granted approval releases its call once; request a new approval",
        )
    if slot.decision is None:
        return slot, None
    return _release(slot, decision_from_json(slot.decision), grant_id, grant.payload_hash)


def on_closed(slot: ApprovalSlot | None, approval_id: str) -> ApprovalSlot:
    """A verified denial or expiry: the parked decision will never run (unless it already did)."""
    if slot is not None and slot.state == "executed":
        return slot
    return ApprovalSlot(approval_id=approval_id, state="closed")
