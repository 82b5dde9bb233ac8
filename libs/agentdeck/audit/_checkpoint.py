"""Signed checkpoints: a tree size and root hash, at a time, under an Ed25519 key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from agentdeck.signing import Signer, Verifier, message

__all__ = ["CHECKPOINT_DOMAIN", "Checkpoint", "checkpoint_message", "sign_checkpoint"]

CHECKPOINT_DOMAIN = "agentdeck.checkpoint.v1"
CHECKPOINT_DOMAIN_V2 = "agentdeck.checkpoint.v2"
"""Checkpoints that also count the run heads signed so far."""


class Checkpoint(BaseModel):
    """A signed statement: the log's first ``tree_size`` leaves hash to ``root_hash``.

    Attributes:
        tree_size: Number of leaves covered.
        root_hash: RFC 6962 tree head, hex.
        timestamp: When it was signed (UTC).
        key_id: Which key signed it.
        signature: Ed25519 signature of :func:`checkpoint_message`, base64.
        run_heads: How many runs have a signed run head as of this checkpoint
            (None: a checkpoint from before run heads, signed without it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tree_size: int
    root_hash: str
    timestamp: datetime
    key_id: str
    signature: str
    run_heads: int | None = None

    def verify(self, verifier: Verifier) -> bool:
        """Whether the signature is ``key_id``'s over this checkpoint's fields."""
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        return verifier.verify(self.key_id, checkpoint_message(self), signature)

    def root(self) -> bytes:
        """The root hash as bytes."""
        return bytes.fromhex(self.root_hash)


def checkpoint_message(cp: Checkpoint) -> bytes:
    """The bytes a checkpoint's signature covers (size, root, time, key, run heads if counted)."""
    when = cp.timestamp.astimezone(UTC).isoformat()
    fields = [str(cp.tree_size), cp.root_hash, when, cp.key_id]
    if cp.run_heads is None:
        return message(CHECKPOINT_DOMAIN, fields)
    return message(CHECKPOINT_DOMAIN_V2, [*fields, str(cp.run_heads)])


def sign_checkpoint(
    signer: Signer, tree_size: int, root: bytes, now: datetime, *, run_heads: int | None = None
) -> Checkpoint:
    """A checkpoint of ``(tree_size, root)`` at ``now`` (counting ``run_heads``), signed."""
    unsigned = Checkpoint(
        tree_size=tree_size,
        root_hash=root.hex(),
        timestamp=now.astimezone(UTC),
        key_id=signer.key_id,
        signature="",
        run_heads=run_heads,
    )
    signature = base64.b64encode(signer.sign(checkpoint_message(unsigned))).decode()
    return unsigned.model_copy(update={"signature": signature})
