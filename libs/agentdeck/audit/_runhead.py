"""Signed run heads: how many events a run has in the log, where they end, whether it finished.

A run's events chain backwards (each leaf names the run's previous leaf), so
a bundle missing an event in the middle shows the gap; nothing in the chain
shows that events were cut off its end. The checkpointer therefore signs, for
every run a checkpoint touches, a :class:`RunHead` under the checkpoint key:
as of that tree size, the run's logged events number ``events``, the last is
at ``last_leaf``, and its terminal event (``RunCompleted``, ``RunFailed``,
``RunCancelled``) is at ``terminal_leaf``, or None while the run is open.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from agentdeck.contracts import models as m
from agentdeck.signing import Signer, Verifier, message

__all__ = ["RUN_HEAD_DOMAIN", "TERMINAL_EVENT_TYPES", "RunHead", "sign_run_head"]

RUN_HEAD_DOMAIN: Final = "agentdeck.runhead.v1"
TERMINAL_EVENT_TYPES: Final = frozenset(
    {m.RunCompleted.EVENT_TYPE, m.RunFailed.EVENT_TYPE, m.RunCancelled.EVENT_TYPE}
)
"""The event types that end a run."""


class RunHead(BaseModel):
    """A signed statement of where a run's events stand in the log at one tree size.

    Attributes:
        run_id: The run.
        tree_size: The log's size when signed: every leaf below it was counted.
        events: How many of the run's events the first ``tree_size`` leaves hold.
        last_leaf: Leaf index of the run's latest event.
        terminal_leaf: Leaf index of its terminal event; None: the run is open.
        timestamp: When it was signed (UTC).
        key_id: Which key signed it (the checkpoint key).
        signature: Ed25519 signature of the fields above, base64.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    tree_size: int
    events: int
    last_leaf: int
    terminal_leaf: int | None
    timestamp: datetime
    key_id: str
    signature: str

    def verify(self, verifier: Verifier) -> bool:
        """Whether the signature is ``key_id``'s over this run head's fields."""
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        return verifier.verify(self.key_id, _message(self), signature)

    def describe(self) -> str:
        """One sentence: the run's state as of its tree size."""
        state = "open" if self.terminal_leaf is None else f"ended at leaf {self.terminal_leaf}"
        return (
            f"run {self.run_id} as of tree size {self.tree_size} "
            f"({self.timestamp.isoformat()}): {self.events} events, the last at leaf "
            f"{self.last_leaf}, {state}"
        )


def _message(head: RunHead) -> bytes:
    fields = [
        head.run_id,
        str(head.tree_size),
        str(head.events),
        str(head.last_leaf),
        "" if head.terminal_leaf is None else str(head.terminal_leaf),
        head.timestamp.astimezone(UTC).isoformat(),
        head.key_id,
    ]
    return message(RUN_HEAD_DOMAIN, fields)


def sign_run_head(
    signer: Signer,
    run_id: str,
    *,
    tree_size: int,
    events: int,
    last_leaf: int,
    terminal_leaf: int | None,
    now: datetime,
) -> RunHead:
    """A run head for ``run_id`` as of ``tree_size``, signed by ``signer``."""
    unsigned = RunHead(
        run_id=run_id,
        tree_size=tree_size,
        events=events,
        last_leaf=last_leaf,
        terminal_leaf=terminal_leaf,
        timestamp=now.astimezone(UTC),
        key_id=signer.key_id,
        signature="",
    )
    signature = base64.b64encode(signer.sign(_message(unsigned))).decode()
    return unsigned.model_copy(update={"signature": signature})
