"""A witness: remembers the checkpoints it saw, and refuses one that undoes them.

The log alone cannot show it was cut back to an earlier checkpoint when the
cut removed every trace of the later one. A witness keeps the latest
checkpoint note outside the store; a newer one must be the same tree or
extend it (RFC 9162 consistency proof), so a rollback or a fork is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from agentdeck.audit._merkle import verify_consistency
from agentdeck.audit._note import SignedNote
from agentdeck.audit._treehead import TreeHead
from agentdeck.audit.errors import VerificationFailed

__all__ = ["RollbackDetected", "WitnessRefused", "open_checkpoint", "witness"]


class WitnessRefused(VerificationFailed):
    """The note does not verify under a trusted key, so the witness does not look at it."""


class RollbackDetected(VerificationFailed):
    """The presented checkpoint contradicts the one the witness recorded."""


def open_checkpoint(note: SignedNote, trusted_keys: Mapping[str, str]) -> TreeHead:
    """The tree head of a checkpoint note signed by a trusted key under its origin.

    Args:
        note: The parsed note.
        trusted_keys: Key id -> base64 Ed25519 public key, brought by the verifier.

    Raises:
        NoteMalformed: the text is not a checkpoint.
        WitnessRefused: no trusted key signed it, or a trusted key's signature fails.
    """
    head = TreeHead.from_text(note.text)
    verdicts = {k: note.verified_by(head.origin, v) for k, v in trusted_keys.items()}
    failed = sorted(k for k, ok in verdicts.items() if ok is False)
    if failed:
        raise WitnessRefused(f"the checkpoint's signature does not verify under key {failed[0]!r}")
    if True not in verdicts.values():
        raise WitnessRefused(
            f"the checkpoint of {head.origin} carries no signature by a trusted key "
            f"(trusted: {', '.join(sorted(trusted_keys))})"
        )
    return head


def witness(
    recorded: TreeHead | None,
    presented: TreeHead,
    consistency_proof: Callable[[int, int], Sequence[bytes]],
) -> str:
    """Check ``presented`` against the last ``recorded`` head; what changed, if it may be recorded.

    Args:
        recorded: The witness's latest head (None: nothing recorded yet).
        presented: The verified head to witness.
        consistency_proof: ``(old size, new size) -> proof``, asked only when the tree grew.

    Raises:
        RollbackDetected: another origin, a smaller tree, the same size with
            another root, or a larger tree that does not extend the recorded one.
    """
    if recorded is None:
        return f"first checkpoint of {presented.origin}: {presented.describe()}"
    was, now = recorded.describe(), presented.describe()
    if presented.origin != recorded.origin:
        raise RollbackDetected(
            f"the checkpoint is of {presented.origin}, the witness records {recorded.origin}"
        )
    if presented.tree_size < recorded.tree_size:
        raise RollbackDetected(f"rollback: the witness recorded {was}; presented {now}")
    if presented.tree_size == recorded.tree_size:
        if presented.root != recorded.root:
            raise RollbackDetected(f"fork: the witness recorded {was}; presented {now}")
        return f"unchanged: {now}"
    proof = consistency_proof(recorded.tree_size, presented.tree_size)
    if not verify_consistency(
        recorded.tree_size, presented.tree_size, recorded.root, presented.root, proof
    ):
        raise RollbackDetected(
            f"rewritten: the witness recorded {was}; presented {now}, which does not extend it "
            "(the consistency proof fails)"
        )
    return f"grew from tree size {recorded.tree_size}: {now}"
