"""Approval slots decided but not yet committed, so the next handler call sees them.

The consumer loop commits a batch's state only after its outputs flush. When
it isolates a failing event it calls the handler once per event and commits
all of them at the end; a grant handled right after its (uncommitted)
decision must still find the parked decision. Applying an event to a slot
twice changes nothing, so a change left here by an aborted batch is harmless:
the same events come again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from agentdeck.tool_executor.core.parking import ApprovalSlot

__all__ = ["UnsavedSlots"]


class UnsavedSlots:
    """Slots handed to an ``Outcome.commit`` that has not run yet (bounded, newest kept)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._slots: OrderedDict[str, ApprovalSlot] = OrderedDict()

    def over(self, stored: Mapping[str, ApprovalSlot], ids: set[str]) -> dict[str, ApprovalSlot]:
        """The slots of ``ids``: unsaved changes over what the store returned."""
        with self._lock:
            newer = {i: self._slots[i] for i in ids if i in self._slots}
        return {**stored, **newer}

    def remember(self, slots: Mapping[str, ApprovalSlot]) -> None:
        """Slots a handler call decided; the commit will save them."""
        with self._lock:
            for approval_id, slot in slots.items():
                self._slots[approval_id] = slot
                self._slots.move_to_end(approval_id)
            while len(self._slots) > self._limit:
                self._slots.popitem(last=False)

    def saved(self, slots: Mapping[str, ApprovalSlot]) -> None:
        """The commit saved ``slots``: forget those not changed again since."""
        with self._lock:
            for approval_id, slot in slots.items():
                if self._slots.get(approval_id) is slot:
                    del self._slots[approval_id]
