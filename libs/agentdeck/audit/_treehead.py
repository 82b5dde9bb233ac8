"""Checkpoints as C2SP tlog-checkpoint notes (c2sp.org/tlog-checkpoint).

The note text is the log's origin, its tree size in decimal and its RFC 6962
root hash in base64, one per line; no extension lines (the spec advises
against them: monitors cannot audit them). The log signs it under a key named
by the origin, as the spec recommends.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from agentdeck.audit._note import NoteMalformed, SignedNote
from agentdeck.signing import Signer

__all__ = ["TreeHead", "audit_origin", "sign_tree_head"]


def audit_origin(topic_prefix: str) -> str:
    """The origin of a deployment's audit log, named after its topic prefix."""
    return f"agentdeck.{topic_prefix}/audit"


@dataclass(frozen=True)
class TreeHead:
    """A checkpoint note's claim: log ``origin``'s first ``tree_size`` leaves hash to ``root``."""

    origin: str
    tree_size: int
    root: bytes

    def text(self) -> str:
        """The note text."""
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root).decode()}\n"

    def describe(self) -> str:
        """Size and root, as messages name them."""
        return f"tree size {self.tree_size}, root {base64.b64encode(self.root).decode()}"

    @classmethod
    def from_text(cls, text: str) -> TreeHead:
        """Read a checkpoint note's text (extension lines are ignored, as the spec allows).

        Raises:
            NoteMalformed: fewer than three lines, or a malformed size or root.
        """
        lines = text.split("\n")[:-1] if text.endswith("\n") else []
        if len(lines) < 3 or not all(lines):
            raise NoteMalformed("a checkpoint's text is origin, tree size, root hash: three lines")
        origin, size, root = lines[:3]
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteMalformed(f"tree size {size!r} is not a decimal without leading zeroes")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteMalformed(f"root hash {root!r} is not base64") from None
        if len(raw) != 32:
            raise NoteMalformed(f"root hash {root!r} is not 32 bytes")
        return cls(origin, int(size), raw)


def sign_tree_head(signer: Signer, head: TreeHead) -> SignedNote:
    """The checkpoint note of ``head``, signed under its origin.

    The checkpoint key signs these notes besides its own messages: a note can
    never hold the unit separator every agentdeck message carries, so neither
    signature passes for the other.
    """
    return SignedNote(head.text()).signed(head.origin, signer)
