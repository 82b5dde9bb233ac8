"""Offline verification of the archive against its Merkle log and signed checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from agentdeck.audit._checkpoint import Checkpoint
from agentdeck.audit._fast import ByteArchiveSource, LogSource, Proven, prove_intact
from agentdeck.audit._heads import run_head_failures
from agentdeck.audit._leaf import LoggedLeaf
from agentdeck.audit._merkle import Frontier
from agentdeck.audit._payloads import ReferenceCollector
from agentdeck.audit._runhead import RunHead, Seen
from agentdeck.audit._scan import (
    ArchiveSource,
    Found,
    Log,
    Scan,
    Tail,
    merged,
    scan,
    scan_source,
)
from agentdeck.signing import Verifier
from agentdeck.store import ArchivedEvent, AuditRecord

__all__ = ["ArchiveSource", "AuditReport", "Completeness", "verify_log", "verify_sources"]


@dataclass
class AuditReport:
    """What a verification checked and every failure it found, each in one sentence."""

    events: int = 0
    checkpoints: int = 0
    payloads: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failures


@dataclass(frozen=True)
class Completeness:
    """How far the archive's end may run ahead of its latest valid signed checkpoint.

    Events archived after the latest checkpoint are proven by nothing yet; a
    few seconds' worth is the checkpoint interval at work, more means the log
    stopped being checkpointed or its newest checkpoints were removed.

    Attributes:
        max_lag_events: Archived events the latest checkpoint may leave uncovered.
        max_lag_s: Seconds the newest uncovered event may be archived after the
            latest checkpoint was signed.
    """

    max_lag_events: int = 10_000
    max_lag_s: float = 120.0


def verify_log(
    checkpoints: Sequence[Checkpoint],
    leaves: Sequence[LoggedLeaf],
    archive: Iterable[ArchivedEvent | AuditRecord] | ArchiveSource,
    verifier: Verifier,
    *,
    completeness: Completeness | None = None,
    run_heads: Sequence[RunHead] = (),
    references: ReferenceCollector | None = None,
    processes: int | None = None,
) -> AuditReport:
    """Check signatures, tree heads, every archived event, and that checkpoints reach the end.

    Args:
        checkpoints: The signed checkpoints, any order.
        leaves: The logged leaves, in index order.
        archive: The archived events in ``seq`` order (streamed; payloads not kept), as
            read in full or by the archive's lean audit read
            (:meth:`~agentdeck.store.ArchiveRepository.audit_pages`); or an
            :class:`ArchiveSource`, read in ``seq`` ranges by one process per CPU.
        verifier: The trusted public keys (from the verifier, never from the evidence).
        completeness: How far the archive may run ahead of the latest valid
            checkpoint (default: :class:`Completeness`'s defaults).
        run_heads: The stored signed run heads; a head beyond the latest valid
            checkpoint, or one the run's chain contradicts, shows a log cut back.
        references: Notes the payload references of the archived events, if given.
        processes: With an :class:`ArchiveSource`: how many processes read it
            (default: one per CPU, forked where this process runs no other thread).
    """
    report = AuditReport(checkpoints=len(checkpoints))
    report.failures += _leaf_gaps(leaves)
    failures, latest = _checkpoint_failures(checkpoints, leaves, verifier)
    report.failures += failures
    signed = latest.tree_size if latest is not None else 0
    if len(leaves) > signed:
        report.notes.append(f"{len(leaves) - signed} logged events await the next checkpoint")
    scanned = _scanning(leaves, archive, signed, refs=references, processes=processes)
    # The run heads' signatures are checked while forked readers scan the archive.
    seen: Seen = {}
    verified = [head.verify(verifier, seen) for head in run_heads] if latest is not None else []
    tail = _check_archive(report, leaves, scanned(), references)
    report.failures += _completeness_failures(tail, latest, completeness or Completeness())
    report.failures += run_head_failures(
        run_heads,
        [leaf.run_prev for leaf in leaves],
        tail.last_of_run,
        latest,
        verifier,
        verified=verified,
    )
    return report


def verify_sources(
    checkpoints: Sequence[Checkpoint],
    log: LogSource,
    archive: ByteArchiveSource,
    verifier: Verifier,
    *,
    completeness: Completeness | None = None,
    run_heads: Sequence[RunHead] = (),
    references: ReferenceCollector | None = None,
    processes: int | None = None,
) -> AuditReport:
    """:func:`verify_log` of a stored log and archive, each read in ranges by forked readers.

    An intact archive is proven by the fast pass (:func:`prove_intact`: every
    reader checks its own stretch of log and archive); where it declines, the
    exact pass runs and names every failure. Arguments as :func:`verify_log`.
    """
    verified: list[bool] = []

    def check_heads() -> None:  # while the readers read
        seen: Seen = {}
        verified.extend(head.verify(verifier, seen) for head in run_heads)

    proven = prove_intact(
        checkpoints,
        log,
        archive,
        verifier,
        refs=references,
        processes=processes,
        meanwhile=check_heads,
    )
    if proven is None:
        with log.leaf_rows(0, None) as rows:
            leaves = [LoggedLeaf(*row) for row in rows]
        return verify_log(
            checkpoints,
            leaves,
            archive,
            verifier,
            completeness=completeness,
            run_heads=run_heads,
            references=references,
            processes=processes,
        )
    report = _proven_report(proven, len(checkpoints), completeness or Completeness())
    report.failures += run_head_failures(
        run_heads,
        proven.run_prev,
        proven.tail.last_of_run,
        proven.latest,
        verifier,
        verified=verified,
    )
    return report


def _proven_report(proven: Proven, checkpoints: int, completeness: Completeness) -> AuditReport:
    """The report of an archive the fast pass proved intact, but for its run heads."""
    report = AuditReport(events=proven.events, checkpoints=checkpoints)
    signed = proven.latest.tree_size
    if proven.leaves > signed:
        report.notes.append(f"{proven.leaves - signed} logged events await the next checkpoint")
    report.failures += _completeness_failures(proven.tail, proven.latest, completeness)
    return report


def _completeness_failures(
    tail: Tail, latest: Checkpoint | None, allowed: Completeness
) -> list[str]:
    if not tail.count:
        return []
    if latest is None:
        unproven = (
            f"no valid signed checkpoint covers the archive: its {tail.count} events are "
            "unproven (the Merkle log or its checkpoints are gone, or telemetry signs none)"
        )
        return [unproven]
    uncovered = (
        f"{tail.count} archived events (seq {tail.first_seq} on) are not covered by the latest "
        f"valid checkpoint (tree size {latest.tree_size}, {latest.timestamp.isoformat()})"
    )
    cause = "checkpointing stopped, or the checkpoints after it were removed"
    failures = []
    if tail.count > allowed.max_lag_events:
        failures.append(f"{uncovered}: more than the allowed {allowed.max_lag_events}; {cause}")
    lag_s = (tail.newest - latest.timestamp).total_seconds() if tail.newest else 0.0
    if lag_s > allowed.max_lag_s:
        failures.append(
            f"{uncovered}: the newest was archived {lag_s:.0f} s after it, more than the "
            f"allowed {allowed.max_lag_s:.0f} s; {cause}"
        )
    return failures


def _leaf_gaps(leaves: Sequence[LoggedLeaf]) -> list[str]:
    for expected, leaf in enumerate(leaves):
        if leaf.index != expected:
            return [f"the log skips from leaf {expected - 1} to leaf {leaf.index}"]
    return []


def _checkpoint_failures(
    checkpoints: Sequence[Checkpoint], leaves: Sequence[LoggedLeaf], verifier: Verifier
) -> tuple[list[str], Checkpoint | None]:
    """Every checkpoint's failures, and the largest one that is valid (signed and matching)."""
    failures: list[str] = []
    latest: Checkpoint | None = None
    frontier = Frontier()
    for cp in sorted(checkpoints, key=lambda c: c.tree_size):
        name = f"checkpoint at tree size {cp.tree_size} ({cp.timestamp.isoformat()})"
        signed = cp.verify(verifier)
        if not signed:
            failures.append(
                f"{name}: signature does not verify under key {cp.key_id!r} "
                "(forged, altered or swapped in)"
            )
        if cp.tree_size > len(leaves):
            failures.append(
                f"{name} covers {cp.tree_size} leaves but the log holds only {len(leaves)}: "
                "the log was truncated"
            )
            continue
        while frontier.size < cp.tree_size:
            frontier.append(leaves[frontier.size].leaf_hash)
        if frontier.root() != cp.root():
            failures.append(
                f"{name}: root hash {cp.root_hash[:16]}... does not match the log's first "
                f"{cp.tree_size} leaves ({frontier.root().hex()[:16]}...): "
                "the checkpoint was swapped or the log rewritten"
            )
        elif signed:
            latest = cp
    return failures, latest


def _scanning(
    leaves: Sequence[LoggedLeaf],
    archive: Iterable[ArchivedEvent | AuditRecord] | ArchiveSource,
    signed: int,
    *,
    refs: ReferenceCollector | None,
    processes: int | None,
) -> Callable[[], list[Scan]]:
    """Start the pass over the archive (in forked readers, for a source); call it for the scans."""
    logged = {leaf.event_id: leaf for leaf in leaves}
    log = Log(logged, signed, leaves[-1].seq if leaves else 0)
    if isinstance(archive, ArchiveSource):
        return scan_source(archive, log, refs, processes)
    return lambda: [scan(archive, log, refs)]


def _check_archive(
    report: AuditReport,
    leaves: Sequence[LoggedLeaf],
    scans: list[Scan],
    refs: ReferenceCollector | None,
) -> Tail:
    """Check each archived event against its leaf; the events no valid checkpoint covers."""
    whole, found = merged(scans, refs)
    report.events += whole.events
    report.failures += [
        f"event {event_id} at seq {seq} is in the archive but not in the "
        "log: it was inserted after the log passed that point"
        for event_id, seq in whole.inserted
    ]
    report.failures += _leaf_failures(leaves, found)
    return whole.tail


def _leaf_failures(leaves: Sequence[LoggedLeaf], found: Found) -> list[str]:
    """Every logged leaf against the archive: altered, deleted, truncated, reordered."""
    altered: list[str] = []
    deleted: list[LoggedLeaf] = []
    reordered: list[str] = []
    latest: LoggedLeaf | None = None  # the present leaf furthest along the archive so far
    latest_at: tuple[int, int, bytes] = (-1, 0, b"")
    for leaf in leaves:
        at = found.get(leaf.event_id)
        if at is None:
            deleted.append(leaf)
            continue
        if at[2] != leaf.leaf_hash:
            altered.append(
                f"event {leaf.event_id} (leaf {leaf.index}, seq {leaf.seq}) was altered: "
                "its archived bytes no longer hash to the logged leaf"
            )
        if reordered:
            continue
        if latest is not None and at[0] < latest_at[0]:
            reordered.append(
                f"events reordered: {leaf.event_id} (leaf {leaf.index}) now comes before "
                f"{latest.event_id} (leaf {latest.index}) in the archive "
                f"(seq {at[1]} < {latest_at[1]})"
            )
            continue
        latest, latest_at = leaf, at
    return altered + _missing(leaves, deleted) + reordered


def _missing(leaves: Sequence[LoggedLeaf], deleted: list[LoggedLeaf]) -> list[str]:
    """Deleted events, one by one, and the archive's end cut off, as one."""
    gone: list[LoggedLeaf] = []
    while deleted and leaves and deleted[-1] is leaves[len(leaves) - 1 - len(gone)]:
        gone.append(deleted.pop())
    failures = [
        f"event {leaf.event_id} (leaf {leaf.index}, seq {leaf.seq}) was deleted from the archive"
        for leaf in deleted
    ]
    if gone:
        gone.reverse()
        failures.append(
            f"the archive was truncated: the last {len(gone)} logged events "
            f"(leaves {gone[0].index}..{gone[-1].index}, seq {gone[0].seq} on) are gone"
        )
    return failures
