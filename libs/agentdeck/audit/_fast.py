"""The fast pass: an intact archive proven stretch by stretch, log and archive read side by side.

The exact pass (:func:`~agentdeck.audit.verify_log`) loads every leaf into one
process, gives each reader the whole log and brings every event's place back
to compare: it names precisely what broke, but that serial work bounds it.
Here the log is cut into stretches too, at its stored chunks: reader ``k``
reads the leaf hashes of its stretch (packed, as the log keeps them) and the
archived events between the stretch's first and last leaf in their stored
form, and checks what an intact archive shows: its events are its leaves, one
for one, in leaf order, each rehashing to its leaf (a version 2 leaf straight
from the row as read). It hands
back only what the whole needs: the stretch's leaf hashes and the roots of
its whole blocks (for the checkpoints), its runs' chains (for the run heads),
the events no checkpoint covers, the payload references.

Anything else (an event that is not its leaf, a leaf without its event, a
rehash that differs, a gap, a checkpoint that fails) and the pass declines:
it returns None and the exact pass runs, so every failure is still named
exactly as before. The fast pass only ever says "intact", and only where the
exact pass would find no fault in the log or the archive.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, runtime_checkable

from agentdeck.audit._checkpoint import Checkpoint
from agentdeck.audit._leaf import record_leaf, stored_leaf, stored_leaves
from agentdeck.audit._merkle import Frontier, perfect_root
from agentdeck.audit._payloads import ReferenceCollector
from agentdeck.audit._scan import BEFORE_ALL, ArchiveSource, Tail
from agentdeck.forking import can_fork, cpus, forked, rare_collections, results
from agentdeck.signing import Verifier
from agentdeck.store import StoredBytes, audit_bytes, canonical

__all__ = [
    "BLOCK_HEIGHT",
    "ByteArchiveSource",
    "LeafChunk",
    "LeafRow",
    "LogSource",
    "Proven",
    "Stretch",
    "prove_intact",
]

LeafRow = tuple[int, int, str, bytes, int | None, int]
"""One logged leaf: ``(index, seq, event_id, leaf hash, run_prev, leaf version)``."""

BLOCK_HEIGHT = 10
"""Readers hash the log's aligned blocks of ``2**BLOCK_HEIGHT`` leaves into subtree roots."""
_BLOCK = 1 << BLOCK_HEIGHT
_HASH = 32
_STORED = 2  # the leaf version over the stored row


@dataclass(frozen=True)
class LeafChunk:
    """One stored chunk of leaves, as the fast pass reads it.

    Attributes:
        first: Index of its first leaf.
        version: The leaf encoding of all its leaves.
        hashes: The leaf hashes, 32 bytes each, in index order.
        run_prev: Each leaf's ``run_prev`` (-1: none).
    """

    first: int
    version: int
    hashes: bytes
    run_prev: array[int]


@runtime_checkable
class ByteArchiveSource(ArchiveSource, Protocol):
    """An :class:`ArchiveSource` that also reads its ranges in stored form."""

    def stored_pages(
        self, after_seq: int, through_seq: int | None
    ) -> AbstractContextManager[Iterable[Sequence[StoredBytes]]]:
        """The events with ``after_seq < seq <= through_seq`` (no bound: to the end), in
        order, a page of rows at a time."""
        ...


@runtime_checkable
class LogSource(Protocol):
    """A Merkle log stored in chunks of leaves, readable chunk range by range, from any process."""

    def chunk_starts(self) -> list[int]:
        """The first leaf index of each stored chunk, ascending."""
        ...

    def leaf_rows(self, first: int, end: int | None) -> AbstractContextManager[Iterable[LeafRow]]:
        """The leaves of the chunks whose first leaf is in ``[first, end)`` (no end: all after)."""
        ...

    def leaf_chunks(
        self, first: int, end: int | None
    ) -> AbstractContextManager[Iterable[LeafChunk]]:
        """:meth:`leaf_rows`'s chunks, packed: hashes and ``run_prev`` only."""
        ...

    def leaf_seq(self, index: int) -> int | None:
        """The archive ``seq`` logged with leaf ``index``, if the log holds it."""
        ...


@dataclass
class Stretch:
    """What one reader proved of its stretch of log and archive."""

    first: int
    count: int = 0
    events: int = 0
    hashes: bytes = b""
    """The stretch's leaf hashes, 32 bytes each, in index order."""
    blocks: dict[int, bytes] = field(default_factory=dict)
    """Block number -> root, for every aligned block wholly in the stretch."""
    run_prev: array[int] = field(default_factory=lambda: array("q"))
    """Each leaf's ``run_prev`` (-1: none)."""
    tail: Tail = field(default_factory=Tail)
    referenced: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reading:
    """A reader's bounds: leaves of chunks ``[first, end)``, events ``(after_seq, through_seq]``."""

    first: int
    end: int | None
    after_seq: int
    through_seq: int | None
    signed: int


def read_stretch(
    log: LogSource, archive: ByteArchiveSource, reading: _Reading, refs: ReferenceCollector | None
) -> Stretch | None:
    """Prove one stretch intact, or None where it is not exactly its leaves in order."""
    with log.leaf_chunks(reading.first, reading.end) as found:
        chunks = list(found)
    size = reading.first
    for chunk in chunks:
        count = len(chunk.hashes) // _HASH
        if chunk.first != size or len(chunk.run_prev) != count:
            return None  # a gap, or a damaged chunk: the exact pass says where
        size += count
    if size == reading.first or (reading.end is not None and size != reading.end):
        return None
    out = Stretch(first=reading.first, count=size - reading.first)
    out.hashes = b"".join(chunk.hashes for chunk in chunks)
    for chunk in chunks:
        out.run_prev.extend(chunk.run_prev)
    versions = b"".join(bytes((chunk.version,)) * (len(chunk.hashes) // _HASH) for chunk in chunks)
    if not _scan(out, versions, archive, reading=reading, refs=refs):
        return None
    hashes = [out.hashes[at : at + _HASH] for at in range(0, len(out.hashes), _HASH)]
    start = -(-reading.first // _BLOCK)  # the first block starting in the stretch
    for block in range(start, (reading.first + out.count) // _BLOCK):
        at = block * _BLOCK - reading.first
        out.blocks[block] = perfect_root(hashes[at : at + _BLOCK])
    return out


def _scan(
    out: Stretch,
    versions: bytes,
    archive: ByteArchiveSource,
    *,
    reading: _Reading,
    refs: ReferenceCollector | None,
) -> bool:
    """Walk the stretch's archive against its leaves; whether it is exactly them, in order.

    A page of rows is rehashed at once and compared with its leaves' hashes as
    one string; only a page that differs is looked at row by row.
    """
    first, signed, count, is_last = reading.first, reading.signed, out.count, reading.end is None
    tail, last_of_run = out.tail, dict[bytes, int]()
    k = events = 0
    with archive.stored_pages(reading.after_seq, reading.through_seq) as pages:
        for page in pages:
            events += len(page)
            if refs is not None:
                _references(page, refs)
            n = min(len(page), count - k)
            logged = page[:n] if n < len(page) else page
            if n and not _rehashed(logged, k, versions, out):
                return False
            covered = max(0, min(n, signed - first - k))  # leaves below the latest checkpoint
            last_of_run.update(
                {
                    row[4]: i
                    for i, row in enumerate(logged[:covered], first + k)
                    if row[4] is not None
                }
            )
            for row in logged[covered:]:
                tail.add(row)
            k += n
            if n < len(page):
                if not is_last:
                    return False  # events the log does not hold
                for row in page[n:]:
                    tail.add(row)  # archived after the log's last leaf
    out.events = events
    tail.last_of_run.update((run.decode(), index) for run, index in last_of_run.items())
    if refs is not None:
        out.referenced = refs.referenced
    return k == count


def _references(page: Sequence[StoredBytes], refs: ReferenceCollector) -> None:
    marker = refs.marker
    for row in page:
        if marker in row[11]:
            refs.add(row[1].decode(), row[11])


def _rehashed(rows: Sequence[StoredBytes], k: int, versions: bytes, out: Stretch) -> bool:
    """Whether ``rows`` rehash to the stretch's leaves from its ``k``-th on."""
    n, hashes, run_prev = len(rows), out.hashes, out.run_prev
    if versions.count(_STORED, k, k + n) == n:
        leaves = stored_leaves(rows, run_prev[k : k + n])
        if b"".join(leaves) == hashes[k * _HASH : (k + n) * _HASH]:
            return True
    for i, row in enumerate(rows, k):  # some other form, or a difference: row by row
        at, version = run_prev[i], versions[i]
        prev = None if at < 0 else at
        expected = hashes[i * _HASH : (i + 1) * _HASH]
        if _leaf_of(row, prev, version) != expected:
            fixed = canonical(row)  # stored in another form: as its readers read it
            if fixed is None or _leaf_of(fixed, prev, version) != expected:
                return False  # altered, out of place, twice, or not logged
    return True


def _leaf_of(row: StoredBytes, prev: int | None, version: int) -> bytes | None:
    """The leaf of ``version`` of a row in stored form (None: not readable as version 1)."""
    if version == _STORED:
        return stored_leaf(row, prev)
    old = audit_bytes(row)
    return None if old is None else record_leaf(old, prev)


@dataclass(frozen=True)
class Proven:
    """The whole archive proven intact against a log whose checkpoints all hold.

    Attributes:
        events: Archived events read.
        leaves: The log's size.
        latest: The largest checkpoint (every checkpoint is valid).
        tail: The events no checkpoint covers, and each run's last covered leaf.
        run_prev: Each leaf's ``run_prev``, in index order.
    """

    events: int
    leaves: int
    latest: Checkpoint
    tail: Tail
    run_prev: list[int | None]


def prove_intact(
    checkpoints: Sequence[Checkpoint],
    log: LogSource,
    archive: ByteArchiveSource,
    verifier: Verifier,
    *,
    refs: ReferenceCollector | None,
    processes: int | None,
    meanwhile: Callable[[], object] = lambda: None,
) -> Proven | None:
    """The archive and its log proven intact, read in stretches by forked readers; else None.

    ``meanwhile`` runs in this process while the readers read.
    """
    signed = [cp for cp in checkpoints if cp.verify(verifier)]
    starts = log.chunk_starts()
    if len(signed) != len(checkpoints) or not signed or not starts or starts[0] != 0:
        meanwhile()
        return None
    latest = max(signed, key=lambda cp: cp.tree_size)
    readings = _readings(log, starts, max(1, processes or cpus()), latest.tree_size)
    if readings is None:
        meanwhile()
        return None
    stretches = _read_all(log, archive, readings, refs, meanwhile)
    if stretches is None:
        return None
    return _whole(stretches, checkpoints, latest, refs)


def _readings(log: LogSource, starts: list[int], parts: int, signed: int) -> list[_Reading] | None:
    """Cut the log at chunk starts into ``parts`` stretches of about equal leaves."""
    parts = parts if can_fork() else 1
    cuts: list[int] = []
    for k in range(1, parts):
        at = next((s for s in starts if s >= starts[-1] * k // parts), None)
        if at is not None and at > (cuts[-1] if cuts else 0):
            cuts.append(at)
    seqs = [BEFORE_ALL]
    for cut in cuts:
        seq = log.leaf_seq(cut - 1)
        if seq is None or seq <= seqs[-1]:
            return None
        seqs.append(seq)
    firsts, ends = [0, *cuts], [*cuts, None]
    throughs: list[int | None] = [*seqs[1:], None]
    return [
        _Reading(first, end, after, through, signed)
        for first, end, after, through in zip(firsts, ends, seqs, throughs, strict=True)
    ]


def _read_all(
    log: LogSource,
    archive: ByteArchiveSource,
    readings: list[_Reading],
    refs: ReferenceCollector | None,
    meanwhile: Callable[[], object],
) -> list[Stretch] | None:
    def job(reading: _Reading) -> Stretch | None:
        collector = None if refs is None else ReferenceCollector(refs.codec)
        with rare_collections():
            return read_stretch(log, archive, reading, collector)

    if len(readings) == 1:
        meanwhile()
        stretch = job(readings[0])
        return None if stretch is None else [stretch]
    children = [
        forked(partial(job, reading), f"the reader of the log from leaf {reading.first}")
        for reading in readings
    ]
    meanwhile()
    stretches = results(children)
    return None if any(s is None for s in stretches) else [s for s in stretches if s is not None]


def _whole(
    stretches: list[Stretch],
    checkpoints: Sequence[Checkpoint],
    latest: Checkpoint,
    refs: ReferenceCollector | None,
) -> Proven | None:
    """The stretches as one log, checked against every checkpoint; None if anything is off."""
    size = 0
    for stretch in stretches:
        if stretch.first != size:
            return None
        size += stretch.count
    hashes = b"".join(s.hashes for s in stretches)
    blocks = {n: root for s in stretches for n, root in s.blocks.items()}
    frontier = Frontier()
    for cp in sorted(checkpoints, key=lambda c: c.tree_size):
        if cp.tree_size > size:
            return None
        while frontier.size < cp.tree_size:
            block = frontier.size >> BLOCK_HEIGHT
            if (
                frontier.size % _BLOCK == 0
                and frontier.size + _BLOCK <= cp.tree_size
                and block in blocks
            ):
                frontier.append_subtree(blocks[block], BLOCK_HEIGHT)
            else:
                at = frontier.size * _HASH
                frontier.append(hashes[at : at + _HASH])
        if frontier.root() != cp.root():
            return None
    tail = Tail()
    for stretch in stretches:
        tail.extend(stretch.tail)
        if refs is not None:
            for digest, event_id in stretch.referenced.items():
                refs.referenced.setdefault(digest, event_id)
    run_prev: list[int | None] = [
        None if prev < 0 else prev for s in stretches for prev in s.run_prev
    ]
    events = sum(s.events for s in stretches)
    return Proven(events, size, latest, tail, run_prev)
