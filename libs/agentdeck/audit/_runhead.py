"""Signed run heads: how many events a run has in the log, where they end, whether it finished.

A run's events chain backwards (each leaf names the run's previous leaf), so
a bundle missing an event in the middle shows the gap; nothing in the chain
shows that events were cut off its end. The checkpointer therefore signs, for
every run a checkpoint touches, a :class:`RunHead` under the checkpoint key:
as of that tree size, the run's logged events number ``events``, the last is
at ``last_leaf``, and its terminal event (``RunCompleted``, ``RunFailed``,
``RunCancelled``) is at ``terminal_leaf``, or None while the run is open.

The heads one checkpoint signs are signed together (:func:`sign_run_heads`):
one signature over the root of a Merkle tree of their messages, each head
carrying its audit path to that root. A head still checks on its own (a
bundle carries one), and a verifier checking every head of a log checks each
batch's signature once (:meth:`RunHead.verify` with ``seen``).
"""

from __future__ import annotations

import base64
from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from agentdeck.audit._merkle import MerkleTree, inclusion_root, leaf_hash
from agentdeck.contracts import models as m
from agentdeck.signing import Signer, Verifier, message

__all__ = [
    "RUN_HEAD_BATCH_DOMAIN",
    "RUN_HEAD_DOMAIN",
    "TERMINAL_EVENT_TYPES",
    "RunHead",
    "Seen",
    "sign_run_head",
    "sign_run_heads",
]

RUN_HEAD_DOMAIN: Final = "agentdeck.runhead.v1"
RUN_HEAD_BATCH_DOMAIN: Final = "agentdeck.runhead.batch.v1"
Seen = MutableMapping[tuple[str, bytes, str], bool]
"""Batch signatures already checked: (key id, signed message, signature) -> valid."""
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
        signature: Ed25519 signature, base64: of the fields above; with a batch, of the
            root of the batch's tree.
        batch_index: Its leaf in the tree of its batch's heads (None: signed alone).
        batch_size: How many heads the batch holds.
        batch_path: Its audit path in that tree, hex, bottom up.
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
    batch_index: int | None = None
    batch_size: int | None = None
    batch_path: list[str] | None = None

    def verify(self, verifier: Verifier, seen: Seen | None = None) -> bool:
        """Whether the signature is ``key_id``'s over this run head's fields (or its batch's).

        ``seen`` keeps the batch signatures checked so far, so each is checked once.
        """
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        batch = (self.batch_index, self.batch_size, self.batch_path)
        if batch == (None, None, None):
            return verifier.verify(self.key_id, _message(self), signature)
        index, size, path = batch
        if index is None or size is None or path is None:
            return False
        try:
            proof = [bytes.fromhex(node) for node in path]
        except ValueError:
            return False
        root = inclusion_root(leaf_hash(_message(self)), index, size, proof)
        if root is None:
            return False
        signed = _batch_message(root, size)
        if seen is None:
            return verifier.verify(self.key_id, signed, signature)
        key = (self.key_id, signed, self.signature)
        valid = seen.get(key)
        if valid is None:
            valid = seen[key] = verifier.verify(self.key_id, signed, signature)
        return valid

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


def _batch_message(root: bytes, size: int) -> bytes:
    return message(RUN_HEAD_BATCH_DOMAIN, [root.hex(), str(size)])


def _unsigned(
    signer: Signer, head: tuple[str, int, int, int | None], tree_size: int, now: datetime
) -> RunHead:
    run_id, events, last_leaf, terminal_leaf = head
    return RunHead(
        run_id=run_id,
        tree_size=tree_size,
        events=events,
        last_leaf=last_leaf,
        terminal_leaf=terminal_leaf,
        timestamp=now.astimezone(UTC),
        key_id=signer.key_id,
        signature="",
    )


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
    """A run head for ``run_id`` as of ``tree_size``, signed by ``signer`` alone.

    How heads were signed before :func:`sign_run_heads`; such heads still verify.
    """
    unsigned = _unsigned(signer, (run_id, events, last_leaf, terminal_leaf), tree_size, now)
    signature = base64.b64encode(signer.sign(_message(unsigned))).decode()
    return unsigned.model_copy(update={"signature": signature})


def sign_run_heads(
    signer: Signer,
    heads: Sequence[tuple[str, int, int, int | None]],
    *,
    tree_size: int,
    now: datetime,
) -> list[RunHead]:
    """Run heads as of ``tree_size``, signed together with one signature.

    Args:
        signer: The checkpoint key.
        heads: ``(run_id, events, last_leaf, terminal_leaf)`` of each run.
        tree_size: The log's size they are signed at.
        now: When.
    """
    unsigned = [_unsigned(signer, head, tree_size, now) for head in heads]
    if not unsigned:
        return []
    tree = MerkleTree([leaf_hash(_message(head)) for head in unsigned])
    signature = base64.b64encode(signer.sign(_batch_message(tree.root(), tree.size))).decode()
    return [
        head.model_copy(
            update={
                "signature": signature,
                "batch_index": i,
                "batch_size": tree.size,
                "batch_path": [node.hex() for node in tree.inclusion_proof(i)],
            }
        )
        for i, head in enumerate(unsigned)
    ]
