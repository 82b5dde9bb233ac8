"""One pass over the archive: each event's place, its rehash, the uncovered tail, its references.

A pass over a stretch of the archive (:func:`scan`) depends on nothing but the
log, so an archive that can be read in ``seq`` ranges (an :class:`ArchiveSource`)
is scanned range by range in forked processes, one per CPU, each reading its
own range: rehashing is Python byte assembly and SHA-256 of short inputs, which
holds the GIL, so only processes share it out. The ranges' results, merged in
``seq`` order (:func:`merged`), are what one pass over the whole would give.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Protocol, runtime_checkable

from agentdeck.audit._leaf import LoggedLeaf, audit_record, record_leaf, stored_form, stored_leaf
from agentdeck.audit._payloads import ReferenceCollector
from agentdeck.forking import can_fork, cpus, forked, results
from agentdeck.store import ArchivedEvent, AuditBytes, AuditRecord, StoredBytes

__all__ = [
    "BEFORE_ALL",
    "ArchiveSource",
    "Found",
    "Log",
    "Scan",
    "Tail",
    "merged",
    "scan",
    "scan_source",
]

BEFORE_ALL = -(1 << 63)
"""A ``seq`` below any an archive holds: ranges start after it, so no row escapes a reader."""

Found = dict[str, tuple[int, int, bytes]]
"""Event id -> (position in the archive, seq, its rehash; ``b""`` if not logged)."""


@runtime_checkable
class ArchiveSource(Protocol):
    """An archive that can be read in ``seq`` ranges, from any process (each its own connection)."""

    def seq_splits(self, parts: int) -> list[int]:
        """Up to ``parts - 1`` increasing seqs cutting the archive in ranges of about equal size."""
        ...

    def records(
        self, after_seq: int, through_seq: int | None
    ) -> AbstractContextManager[Iterable[AuditRecord]]:
        """The events with ``after_seq < seq <= through_seq`` (no bound: to the end), in order."""
        ...


@dataclass(frozen=True)
class Log:
    """What a scan checks events against.

    Attributes:
        logged: Each logged event id's leaf.
        signed: Tree size of the latest valid checkpoint: leaves below it are covered.
        last_seq: The ``seq`` of the last logged event.
    """

    logged: Mapping[str, LoggedLeaf]
    signed: int
    last_seq: int


@dataclass
class Tail:
    """The archived events no valid checkpoint covers."""

    count: int = 0
    first_seq: int | None = None
    newest: datetime | None = None
    last_of_run: dict[str, int] = field(default_factory=dict)
    """Each run's latest leaf among the covered events (for its run head)."""

    def add(self, event: AuditRecord | AuditBytes | StoredBytes) -> None:
        self.count += 1
        if self.first_seq is None:
            self.first_seq = event[0]
        at = event[10]  # archived_at: ISO text, or the stored form (UTC, no offset written)
        archived_at = datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at)
        if archived_at.tzinfo is None:
            archived_at = archived_at.replace(tzinfo=UTC)
        if self.newest is None or archived_at > self.newest:
            self.newest = archived_at

    def extend(self, later: Tail) -> None:
        """Count in the tail of the stretch of archive after this one."""
        self.count += later.count
        if self.first_seq is None:
            self.first_seq = later.first_seq
        if later.newest is not None and (self.newest is None or later.newest > self.newest):
            self.newest = later.newest
        for run_id, index in later.last_of_run.items():
            self.last_of_run[run_id] = max(index, self.last_of_run.get(run_id, 0))


@dataclass
class Scan:
    """What one stretch of the archive showed, positions counted from its start."""

    events: int = 0
    ids: list[str] = field(default_factory=list)
    positions: array[int] = field(default_factory=lambda: array("q"))
    seqs: array[int] = field(default_factory=lambda: array("q"))
    rehashes: list[bytes] = field(default_factory=list)
    inserted: list[tuple[str, int]] = field(default_factory=list)
    """Events not in the log although the log passed their seq: (event id, seq)."""
    tail: Tail = field(default_factory=Tail)
    referenced: dict[str, str] = field(default_factory=dict)


def scan(
    archive: Iterable[ArchivedEvent | AuditRecord], log: Log, refs: ReferenceCollector | None
) -> Scan:
    """Note each event of a stretch of ``archive`` (in ``seq`` order) against the log.

    ``refs``, if given, notes the events' payload references.
    """
    out = Scan()
    logged, signed, last_logged_seq = log.logged, log.signed, log.last_seq
    ids, positions, seqs, rehashes = out.ids, out.positions, out.seqs, out.rehashes
    tail, last_of_run = out.tail, out.tail.last_of_run
    position = -1
    for position, item in enumerate(archive):
        event = audit_record(item) if isinstance(item, ArchivedEvent) else item
        event_id, seq, run_id = event.event_id, event.seq, event.run_id
        if refs is not None:
            refs.add(event_id, event.payload)
        leaf = logged.get(event_id)
        ids.append(event_id)
        positions.append(position)
        seqs.append(seq)
        if leaf is None:
            tail.add(event)
            rehashes.append(b"")
            if seq <= last_logged_seq:
                out.inserted.append((event_id, seq))
            continue
        if leaf.index >= signed:
            tail.add(event)
        elif run_id is not None:
            last_of_run[run_id] = max(leaf.index, last_of_run.get(run_id, 0))
        if leaf.version == 1:
            rehashes.append(record_leaf(event, leaf.run_prev))
        else:
            rehashes.append(stored_leaf(stored_form(event), leaf.run_prev))
    out.events = position + 1
    if refs is not None:
        out.referenced = refs.referenced
    return out


def merged(scans: Iterable[Scan], refs: ReferenceCollector | None) -> tuple[Scan, Found]:
    """Consecutive stretches' scans as one (positions renumbered), and every event's place."""
    whole, found = Scan(), Found()
    for part in scans:
        offset = whole.events
        found.update(
            zip(
                part.ids,
                zip((p + offset for p in part.positions), part.seqs, part.rehashes, strict=True),
                strict=True,
            )
        )
        whole.events += part.events
        whole.inserted += part.inserted
        whole.tail.extend(part.tail)
        if refs is not None:
            for digest, event_id in part.referenced.items():
                refs.referenced.setdefault(digest, event_id)
    return whole, found


def scan_source(
    source: ArchiveSource, log: Log, refs: ReferenceCollector | None, processes: int | None
) -> Callable[[], list[Scan]]:
    """Start scanning ``source`` in ranges, one forked process each; call the result to wait.

    Where this process may not fork, or one process is asked for, the scan runs
    in this process when the result is called.
    """
    parts = max(1, processes or cpus()) if can_fork() else 1
    bounds = [BEFORE_ALL, *source.seq_splits(parts)] if parts > 1 else [BEFORE_ALL]
    ranges = list(zip(bounds, [*bounds[1:], None], strict=True))

    def job(after: int, through: int | None) -> Scan:
        collector = None if refs is None else ReferenceCollector(refs.codec)
        with source.records(after, through) as records:
            return scan(records, log, collector)

    if parts == 1:
        return lambda: [job(BEFORE_ALL, None)]
    children = [
        forked(partial(job, after, through), f"the scan of the archive after seq {after}")
        for after, through in ranges
    ]
    return lambda: results(children)
