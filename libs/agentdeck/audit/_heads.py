"""The store's signed run heads against its log: a log cut back leaves heads beyond its end.

Each checkpoint signs the heads of the runs it touched, and a head is only
ever replaced by a newer one. So when the newest checkpoints, their leaves
and their archive rows are removed together (a log that still looks whole),
the heads they signed point past the log's end; heads rolled back to older
copies count fewer events than the run's chain holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agentdeck.audit._checkpoint import Checkpoint
from agentdeck.audit._runhead import RunHead, Seen
from agentdeck.signing import Verifier

__all__ = ["run_head_failures"]


def run_head_failures(
    heads: Sequence[RunHead],
    run_prev: Sequence[int | None],
    last_of_run: Mapping[str, int],
    latest: Checkpoint | None,
    verifier: Verifier,
    *,
    verified: Sequence[bool] | None = None,
) -> list[str]:
    """One sentence per run head that the log contradicts.

    Args:
        heads: The stored run heads.
        run_prev: Each logged leaf's ``run_prev``, in index order (the runs' chains).
        last_of_run: Each run's latest archived event's leaf under the latest checkpoint.
        latest: The latest valid checkpoint (None: heads are not checked).
        verifier: The trusted keys.
        verified: Whether each head's signature verifies under ``verifier``, if
            already checked (in ``heads`` order).
    """
    if latest is None:
        return []  # nothing is proven at all, which verification already says
    size = latest.tree_size
    failures = []
    counted, beyond = 0, False
    if verified is None:
        seen: Seen = {}
        verified = [head.verify(verifier, seen) for head in heads]
    for head, valid in zip(heads, verified, strict=True):
        name = f"the run head of {head.run_id} (tree size {head.tree_size})"
        if not valid:
            failures.append(f"{name} does not verify under a trusted key: forged or altered")
            continue
        counted += head.tree_size <= size
        beyond |= head.tree_size > size
        if head.tree_size > size:
            failures.append(
                f"{name} was signed beyond the latest valid checkpoint (tree size {size}): "
                "the log was cut back, its newest checkpoints, leaves and events removed"
            )
        else:
            failures += _chain_failures(name, head, run_prev, last_of_run.get(head.run_id))
    if latest.run_heads is not None and not beyond and counted != latest.run_heads:
        failures.append(
            f"the latest valid checkpoint (tree size {size}) counts {latest.run_heads} runs with "
            f"a signed run head, the store holds {counted}: run heads were deleted"
        )
    return failures


def _chain_failures(
    name: str, head: RunHead, run_prev: Sequence[int | None], archived_last: int | None
) -> list[str]:
    if archived_last is not None and archived_last > head.last_leaf:
        rolled_back = (
            f"{name} ends at leaf {head.last_leaf}, but the run has an event at leaf "
            f"{archived_last}: the head was rolled back to an older one"
        )
        return [rolled_back]
    count = 0
    index: int | None = head.last_leaf
    while index is not None and 0 <= index < len(run_prev) and count <= head.events:
        count += 1
        index = run_prev[index]
    if count != head.events:
        return [f"{name} counts {head.events} events, but the run's chain in the log holds {count}"]
    return []
