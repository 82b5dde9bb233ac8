"""A bundle proves its run complete: every event its signed run head counts, to the last.

The run's chain (each event names the run's previous leaf) shows a gap in the
middle or at the start; the signed run head shows the end: how many events
the run has, its last leaf, and its terminal event, or that it was open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.audit._runhead import TERMINAL_EVENT_TYPES, RunHead
from agentdeck.signing import Verifier

if TYPE_CHECKING:
    from agentdeck.audit._bundle import ProofBundle

__all__ = ["completeness"]


def completeness(bundle: ProofBundle, verifier: Verifier) -> tuple[list[str], list[str]]:
    """Whether the bundle holds every event its signed run head counts: (failures, status).

    Args:
        bundle: The bundle.
        verifier: The verifier's trusted checkpoint keys.
    """
    head, run = bundle.run_head, bundle.run_id
    if head is None:
        unproven = (
            f"the bundle carries no signed run head: nothing proves it holds every event of "
            f"run {run} (events may have been cut off its end)"
        )
        return [unproven], []
    failures = []
    if not head.verify(verifier):
        failures.append(
            f"the run head of {head.run_id} does not verify under a trusted key "
            f"({head.key_id!r}): it was altered or forged"
        )
    if head.run_id != run:
        failures.append(f"the run head is of run {head.run_id}, not {run}")
    if head.tree_size > bundle.checkpoint.tree_size:
        failures.append(
            f"the run head (tree size {head.tree_size}) is newer than the checkpoint "
            f"(tree size {bundle.checkpoint.tree_size}): the bundle proves its events against "
            "an older log"
        )
    failures += _missing_failures(bundle, head)
    return failures, [] if failures else [_status(bundle, head)]


def _missing_failures(bundle: ProofBundle, head: RunHead) -> list[str]:
    by_leaf = {e.leaf_index: e for e in bundle.events}
    failures = []
    last = max(by_leaf, default=None)
    if head.last_leaf not in by_leaf:
        cut = "the bundle holds none" if last is None else f"the bundle ends at leaf {last}"
        failures.append(
            f"the run's last event (leaf {head.last_leaf}, per its signed run head) is missing: "
            f"{cut}; events were cut off the end of run {head.run_id}"
        )
    if head.terminal_leaf is not None and head.terminal_leaf not in by_leaf:
        failures.append(
            f"the run's terminal event (leaf {head.terminal_leaf}, per its signed run head) "
            "is missing"
        )
    elif head.terminal_leaf is not None:
        terminal = by_leaf[head.terminal_leaf]
        if terminal.event_type not in TERMINAL_EVENT_TYPES:
            failures.append(
                f"event {terminal.event_id} (leaf {head.terminal_leaf}) is a "
                f"{terminal.event_type}, not the terminal event the run head names"
            )
    if len(bundle.events) != head.events:
        failures.append(
            f"the bundle holds {len(bundle.events)} events of run {head.run_id}; its signed "
            f"run head counts {head.events}"
        )
    return failures


def _status(bundle: ProofBundle, head: RunHead) -> str:
    if head.terminal_leaf is None:
        return (
            f"complete as of tree size {head.tree_size}, but the run was still OPEN: "
            f"{head.describe()}; events after that are not in this bundle"
        )
    terminal = next(e for e in bundle.events if e.leaf_index == head.terminal_leaf)
    name = terminal.event_type.rsplit(".", 1)[-1]
    return f"complete: {head.describe()} ({name})"
