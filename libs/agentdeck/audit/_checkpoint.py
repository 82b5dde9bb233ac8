"""Signed checkpoints: a tree size and root hash, at a time, under an Ed25519 key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from agentdeck.signing import Signer, Verifier, message

__all__ = ["CHECKPOINT_DOMAIN", "Checkpoint", "checkpoint_message", "sign_checkpoint"]

CHECKPOINT_DOMAIN = "agentdeck.checkpoint.v1"


class Checkpoint(BaseModel):
    """A signed statement: the log's first ``tree_size`` leaves hash to ``root_hash``.

    Attributes:
        tree_size: Number of leaves covered.
        root_hash: RFC 6962 tree head, hex.
        timestamp: When it was signed (UTC).
        key_id: Which key signed it.
        signature: Ed25519 signature of :func:`checkpoint_message`, base64.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tree_size: int
    root_hash: str
    timestamp: datetime
    key_id: str
    signature: str

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
    """The bytes a checkpoint's signature covers (size, root, time, key)."""
    when = cp.timestamp.astimezone(UTC).isoformat()
    return message(CHECKPOINT_DOMAIN, [str(cp.tree_size), cp.root_hash, when, cp.key_id])


def sign_checkpoint(signer: Signer, tree_size: int, root: bytes, now: datetime) -> Checkpoint:
    """A checkpoint of ``(tree_size, root)`` at ``now``, signed by ``signer``."""
    unsigned = Checkpoint(
        tree_size=tree_size,
        root_hash=root.hex(),
        timestamp=now.astimezone(UTC),
        key_id=signer.key_id,
        signature="",
    )
    signature = base64.b64encode(signer.sign(checkpoint_message(unsigned))).decode()
    return unsigned.model_copy(update={"signature": signature})
