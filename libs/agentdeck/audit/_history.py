"""A bundle's history: the log that first covered the run is a prefix of the one it is proven in.

A run's events are proven against the bundle's (latest) checkpoint. The
checkpoint that first covered the run's first event, with a consistency proof
to the bundle's, shows the log was only appended to in between: nothing
logged when the run began was rewritten later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.audit._merkle import verify_consistency
from agentdeck.signing import Verifier

if TYPE_CHECKING:
    from agentdeck.audit._bundle import ProofBundle

__all__ = ["history"]


def history(bundle: ProofBundle, verifier: Verifier) -> tuple[list[str], list[str]]:
    """Check the bundle's consistency proof, if it carries one: (failures, notes)."""
    first, cp = bundle.first_checkpoint, bundle.checkpoint
    if first is None:
        return [], ["the bundle carries no consistency proof from the run's first checkpoint"]
    name = f"the checkpoint that first covered the run (tree size {first.tree_size})"
    failures = []
    if not first.verify(verifier):
        failures.append(f"{name} does not verify under a trusted key: forged or altered")
    if bundle.events and first.tree_size <= bundle.events[0].leaf_index:
        failures.append(
            f"{name} precedes the bundle's first event (leaf {bundle.events[0].leaf_index}): "
            "it covered an earlier event of the run, which the bundle lacks"
        )
    proof = [bytes.fromhex(p) for p in bundle.consistency]
    if not verify_consistency(first.tree_size, cp.tree_size, first.root(), cp.root(), proof):
        failures.append(
            f"{name} is not a prefix of the bundle's checkpoint (tree size {cp.tree_size}): "
            "the log was rewritten in between, or the proof was altered"
        )
    if failures:
        return failures, []
    extends = (
        f"the log at tree size {cp.tree_size} extends, unchanged, the one that first covered "
        f"the run (tree size {first.tree_size}, {first.timestamp.isoformat()})"
    )
    return [], [extends]
