"""The archive's Merkle log, kept in telemetry's ``merkle_*`` tables (see ``tables.py``).

    ``merkle_head``: tree size, last logged ``seq``, the frontier and how many
        runs have a signed run head (optimistically versioned, so two telemetry
        replicas never both extend the log);
    ``merkle_leaf_chunks``: one chunk of logged leaves per append, by its first leaf index;
    ``merkle_run_last_leaf``: the leaf index of each run's latest logged event (its chain's end);
    ``merkle_run_heads``: each run's latest signed :class:`~agentdeck.audit.RunHead`;
    ``merkle_checkpoints``: the signed :class:`~agentdeck.audit.Checkpoint` of each tree size;
    ``merkle_notes``: the same checkpoint as a signed C2SP checkpoint note (its text);
    ``merkle_keys``: the public key of each checkpoint signer, as published.

One log per database: the archive it logs is the database's.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, select, update

from agentdeck.audit import (
    LEAF_VERSION,
    Checkpoint,
    Frontier,
    LeafChunk,
    LeafRow,
    LoggedLeaf,
    RunHead,
    log_events,
)
from agentdeck.errors import RetryableError
from agentdeck.store import ArchivedEvent
from agentdeck.store.sql import AnyInsert, InsertFactory, per_dialect, table_of
from agentdeck.telemetry.adapters.tables import (
    MerkleCheckpointRow,
    MerkleHeadRow,
    MerkleKeyRow,
    MerkleLeafChunkRow,
    MerkleNoteRow,
    MerkleRunHeadRow,
    MerkleRunLastLeafRow,
)

__all__ = ["LogContention", "LogHead", "MerkleLogStore"]

_HEAD = table_of(MerkleHeadRow)
_CHUNKS = table_of(MerkleLeafChunkRow)
_RUNS = table_of(MerkleRunLastLeafRow)
_CHECKPOINTS = table_of(MerkleCheckpointRow)
_NOTES = table_of(MerkleNoteRow)
_KEYS = table_of(MerkleKeyRow)
_RUN_HEADS = table_of(MerkleRunHeadRow)
_ONE = 1  # the head's one row

_GET_HEAD = select(
    _HEAD.c.tree_size, _HEAD.c.last_seq, _HEAD.c.frontier, _HEAD.c.version, _HEAD.c.run_heads
).where(_HEAD.c.id == _ONE)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == _ONE, _HEAD.c.version == bindparam("expected"))
    .values(
        tree_size=bindparam("tree_size"),
        last_seq=bindparam("last_seq"),
        frontier=bindparam("frontier"),
        version=_HEAD.c.version + 1,
    )
)
_RUN_ENDS = select(_RUNS.c.run_id, _RUNS.c.leaf_index).where(
    _RUNS.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_RUN_HEAD_COLUMNS = (
    _RUN_HEADS.c.run_id,
    _RUN_HEADS.c.tree_size,
    _RUN_HEADS.c.events,
    _RUN_HEADS.c.last_leaf,
    _RUN_HEADS.c.terminal_leaf,
    _RUN_HEADS.c.signed_at,
    _RUN_HEADS.c.key_id,
    _RUN_HEADS.c.signature,
    _RUN_HEADS.c.batch_index,
    _RUN_HEADS.c.batch_size,
    _RUN_HEADS.c.batch_path,
)
_GET_RUN_HEADS = select(*_RUN_HEAD_COLUMNS).where(
    _RUN_HEADS.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_ALL_RUN_HEADS = select(*_RUN_HEAD_COLUMNS).order_by(_RUN_HEADS.c.run_id)
_CHUNK_STARTS = select(_CHUNKS.c.first_leaf).order_by(_CHUNKS.c.first_leaf)
_CHUNK_COLUMNS = (_CHUNKS.c.first_leaf, _CHUNKS.c.leaves, _CHUNKS.c.leaf_version, _CHUNKS.c.packed)
_CHUNK_HOLDING = (
    select(*_CHUNK_COLUMNS)
    .where(_CHUNKS.c.first_leaf <= bindparam("index"))
    .order_by(_CHUNKS.c.first_leaf.desc())
    .limit(1)
)
_ALL_CHECKPOINTS = select(
    _CHECKPOINTS.c.tree_size,
    _CHECKPOINTS.c.root_hash,
    _CHECKPOINTS.c.signed_at,
    _CHECKPOINTS.c.key_id,
    _CHECKPOINTS.c.signature,
    _CHECKPOINTS.c.run_heads,
).order_by(_CHECKPOINTS.c.tree_size)
_LATEST_NOTE = select(_NOTES.c.note).order_by(_NOTES.c.tree_size.desc()).limit(1)
_ALL_KEYS = select(_KEYS.c.key_id, _KEYS.c.public_key).order_by(_KEYS.c.key_id)


@per_dialect
def _insert_head(insert: InsertFactory) -> AnyInsert:
    return insert(_HEAD).on_conflict_do_nothing()


@per_dialect
def _upsert_run_head_count(insert: InsertFactory) -> AnyInsert:
    # Without a head yet, the count's row is an empty log's head.
    stmt = insert(_HEAD)
    return stmt.on_conflict_do_update(
        index_elements=["id"], set_={"run_heads": stmt.excluded.run_heads}
    )


def _upsert(table: Table, key: str) -> Callable[[Connection], AnyInsert]:
    """Last writer wins on ``key``: every other column is replaced."""

    def build(insert: InsertFactory) -> AnyInsert:
        stmt = insert(table)
        others = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
        return stmt.on_conflict_do_update(index_elements=[key], set_=others)

    return per_dialect(build)


_UPSERT_CHUNK = _upsert(_CHUNKS, "first_leaf")
_UPSERT_RUN_ENDS = _upsert(_RUNS, "run_id")
_UPSERT_CHECKPOINT = _upsert(_CHECKPOINTS, "tree_size")
_UPSERT_KEY = _upsert(_KEYS, "key_id")
_UPSERT_NOTE = _upsert(_NOTES, "tree_size")
_UPSERT_RUN_HEADS = _upsert(_RUN_HEADS, "run_id")


class LogContention(RetryableError):
    """Another writer extended the log first; the next tick starts from its head."""


@dataclass(frozen=True)
class LogHead:
    """Where the log stands: the frontier of its tree and the last archive seq it holds."""

    frontier: Frontier
    last_seq: int
    version: int | None


def _contention() -> LogContention:
    return LogContention(
        "the Merkle log head moved; the next tick starts from the new head",
        capability="telemetry.merkle",
        code="log_head_moved",
        remediation=("nothing: the other writer logged these events",),
    )


_HASH = 32


def _run_head(row: Sequence[Any]) -> RunHead:
    """A stored head (its row in ``_RUN_HEAD_COLUMNS`` order) as the model, validated."""
    run_id, size, events, last, terminal, signed_at, key_id, signature, index, width, path = row
    return RunHead(
        run_id=run_id,
        tree_size=size,
        events=events,
        last_leaf=last,
        terminal_leaf=terminal,
        timestamp=signed_at,
        key_id=key_id,
        signature=signature,
        batch_index=index,
        batch_size=width,
        batch_path=None if path is None else _path(path),
    )


def _path(stored: str) -> list[str]:
    """A stored audit path (its hashes' hex, one after another) as its hashes."""
    return [stored[at : at + 2 * _HASH] for at in range(0, len(stored), 2 * _HASH)]


def _chunk_rows(first: int, leaves: str, version: int, packed: bytes | None) -> Iterator[LeafRow]:
    """A stored chunk's leaves as :data:`LeafRow`, either version."""
    rows = json.loads(leaves)
    if version == 1 or packed is None:
        fromhex = bytes.fromhex
        return (
            (i, seq, event_id, fromhex(h), prev, 1)
            for i, (seq, event_id, h, prev) in enumerate(rows, start=first)
        )
    hashes, prevs = _unpack(packed, len(rows))
    return (
        (first + k, seq, event_id, hashes[k * _HASH : (k + 1) * _HASH], None if p < 0 else p, 2)
        for k, ((seq, event_id), p) in enumerate(zip(rows, prevs, strict=True))
    )


def _pack(leaves: Sequence[LoggedLeaf]) -> bytes:
    """The leaves' hashes, then their ``run_prev`` as little-endian int64 (-1: none)."""
    prevs = array("q", (-1 if x.run_prev is None else x.run_prev for x in leaves))
    if sys.byteorder == "big":
        prevs.byteswap()
    return b"".join(x.leaf_hash for x in leaves) + prevs.tobytes()


def _unpack(packed: bytes, count: int) -> tuple[bytes, array[int]]:
    """:func:`_pack`'s hashes and ``run_prev`` values of ``count`` leaves."""
    prevs = array("q")
    prevs.frombytes(bytes(packed[_HASH * count :]))
    if sys.byteorder == "big":
        prevs.byteswap()
    return bytes(packed[: _HASH * count]), prevs


def _chunk(first: int, leaves: str, version: int, packed: bytes | None) -> LeafChunk:
    """A stored chunk as the fast pass reads it (version 1 chunks decoded from their JSON)."""
    if version == 1 or packed is None:
        rows = list(_chunk_rows(first, leaves, 1, None))
        prevs = array("q", (-1 if row[4] is None else row[4] for row in rows))
        return LeafChunk(first, 1, b"".join(row[3] for row in rows), prevs)
    count = len(packed) // (_HASH + 8)
    hashes, prevs = _unpack(packed, count)
    return LeafChunk(first, version, hashes, prevs)


class MerkleLogStore:
    """Reads and extends the log inside the caller's transaction. Stateless; pass the connection."""

    def head(self, conn: Connection) -> LogHead:
        """The current head (an empty log if nothing was logged yet)."""
        row = conn.execute(_GET_HEAD).first()
        if row is None:
            return LogHead(Frontier(), 0, None)
        nodes = [bytes.fromhex(h) for h in json.loads(row.frontier)]
        return LogHead(Frontier(row.tree_size, nodes), row.last_seq, row.version)

    def append(self, conn: Connection, head: LogHead, events: Sequence[ArchivedEvent]) -> LogHead:
        """Log ``events`` (archive order, all after ``head``) as one chunk; the new head.

        Raises:
            LogContention: another writer moved the head since it was read.
        """
        frontier = Frontier(head.frontier.size, head.frontier.nodes)
        run_ids = {e.run_id for e in events if e.run_id is not None}
        last_of_run: dict[str, int] = {}
        if run_ids:
            found = conn.execute(_RUN_ENDS, {"run_ids": list(run_ids)})
            last_of_run = {row.run_id: row.leaf_index for row in found}
        leaves = log_events(events, frontier.size, last_of_run)
        for leaf in leaves:
            frontier.append(leaf.leaf_hash)
        values = {
            "tree_size": frontier.size,
            "last_seq": events[-1].seq,
            "frontier": json.dumps([n.hex() for n in frontier.nodes]),
        }
        if head.version is None:
            new = {"id": _ONE, **values, "version": 1, "run_heads": 0}
            if conn.execute(_insert_head(conn), new).rowcount != 1:
                raise _contention()
            version = 1
        else:
            if conn.execute(_MOVE_HEAD, {**values, "expected": head.version}).rowcount != 1:
                raise _contention()
            version = head.version + 1
        chunk = {
            "first_leaf": head.frontier.size,
            "leaves": json.dumps([[x.seq, x.event_id] for x in leaves]),
            "leaf_version": LEAF_VERSION,
            "packed": _pack(leaves),
        }
        conn.execute(_UPSERT_CHUNK(conn), chunk)
        if last_of_run:
            ends = [{"run_id": run, "leaf_index": i} for run, i in last_of_run.items()]
            conn.execute(_UPSERT_RUN_ENDS(conn), ends)
        return LogHead(frontier, events[-1].seq, version)

    def add_checkpoint(self, conn: Connection, cp: Checkpoint, public_key_b64: str) -> None:
        """Store a signed checkpoint and publish its signer's public key."""
        conn.execute(
            _UPSERT_CHECKPOINT(conn),
            {
                "tree_size": cp.tree_size,
                "root_hash": cp.root_hash,
                "signed_at": cp.timestamp,
                "key_id": cp.key_id,
                "signature": cp.signature,
                "run_heads": cp.run_heads,
            },
        )
        conn.execute(_UPSERT_KEY(conn), {"key_id": cp.key_id, "public_key": public_key_b64})

    def add_note(self, conn: Connection, tree_size: int, note: str) -> None:
        """Store the signed checkpoint note of tree size ``tree_size``."""
        conn.execute(_UPSERT_NOTE(conn), {"tree_size": tree_size, "note": note})

    def latest_note(self, conn: Connection) -> str | None:
        """The signed checkpoint note of the largest tree, if any checkpoint has one."""
        note: str | None = conn.execute(_LATEST_NOTE).scalar()
        return note

    def run_head_count(self, conn: Connection) -> int:
        """How many runs have a signed run head."""
        row = conn.execute(_GET_HEAD).first()
        return 0 if row is None else int(row.run_heads)

    def put_run_heads(self, conn: Connection, heads: Iterable[RunHead], count: int) -> None:
        """Store signed run heads, each replacing its run's previous one, and the new count."""
        rows = [
            {
                "run_id": h.run_id,
                "tree_size": h.tree_size,
                "events": h.events,
                "last_leaf": h.last_leaf,
                "terminal_leaf": h.terminal_leaf,
                "signed_at": h.timestamp,
                "key_id": h.key_id,
                "signature": h.signature,
                "batch_index": h.batch_index,
                "batch_size": h.batch_size,
                "batch_path": None if h.batch_path is None else "".join(h.batch_path),
            }
            for h in heads
        ]
        if rows:
            conn.execute(_UPSERT_RUN_HEADS(conn), rows)
        empty = {"id": _ONE, "tree_size": 0, "last_seq": 0, "frontier": "[]", "version": 1}
        conn.execute(_upsert_run_head_count(conn), {**empty, "run_heads": count})

    def run_heads(self, conn: Connection, run_ids: Iterable[str]) -> dict[str, RunHead]:
        """The latest signed run heads of ``run_ids`` (runs without one are left out)."""
        wanted = list(set(run_ids))
        if not wanted:
            return {}
        found = conn.execute(_GET_RUN_HEADS, {"run_ids": wanted})
        return {row[0]: _run_head(row) for row in found}

    def all_run_heads(self, conn: Connection) -> list[RunHead]:
        """Every stored run head (one per run: its latest), by run id."""
        return [_run_head(row) for row in conn.execute(_ALL_RUN_HEADS)]

    def leaves(self, conn: Connection) -> list[LoggedLeaf]:
        """Every logged leaf, in index order."""
        return [LoggedLeaf(*row) for row in self.leaf_rows(conn, 0, None)]

    def chunk_starts(self, conn: Connection) -> list[int]:
        """The first leaf index of each stored chunk of leaves, ascending."""
        return list(conn.execute(_CHUNK_STARTS).scalars())

    def leaf_rows(self, conn: Connection, first: int, end: int | None) -> Iterator[LeafRow]:
        """The leaves of the chunks whose first leaf is in ``[first, end)`` (no end: all after).

        As ``(index, seq, event_id, leaf hash, run_prev, leaf version)``, in stored
        order, streamed.
        """
        for first_leaf, leaves, version, packed in self._chunks(conn, first, end):
            yield from _chunk_rows(first_leaf, leaves, version, packed)

    def leaf_chunks(self, conn: Connection, first: int, end: int | None) -> Iterator[LeafChunk]:
        """:meth:`leaf_rows`'s chunks as the fast pass reads them: hashes and ``run_prev``."""
        for first_leaf, leaves, version, packed in self._chunks(conn, first, end):
            yield _chunk(first_leaf, leaves, version, packed)

    @staticmethod
    def _chunks(
        conn: Connection, first: int, end: int | None
    ) -> Iterator[Row[int, str, int, bytes | None]]:
        stmt = select(*_CHUNK_COLUMNS).where(_CHUNKS.c.first_leaf >= first)
        if end is not None:
            stmt = stmt.where(_CHUNKS.c.first_leaf < end)
        yield from conn.execute(stmt.order_by(_CHUNKS.c.first_leaf).execution_options(yield_per=8))

    def leaf_seq(self, conn: Connection, index: int) -> int | None:
        """The archive ``seq`` logged for leaf ``index``, if the log holds it."""
        chunk = conn.execute(_CHUNK_HOLDING, {"index": index}).first()
        if chunk is None:
            return None
        return next((row[1] for row in _chunk_rows(*chunk) if row[0] == index), None)

    def checkpoints(self, conn: Connection) -> list[Checkpoint]:
        """Every stored checkpoint, by tree size."""
        return [
            Checkpoint(
                tree_size=row.tree_size,
                root_hash=row.root_hash,
                timestamp=row.signed_at,
                key_id=row.key_id,
                signature=row.signature,
                run_heads=row.run_heads,
            )
            for row in conn.execute(_ALL_CHECKPOINTS)
        ]

    def published_keys(self, conn: Connection) -> dict[str, str]:
        """The signers' public keys as the checkpointer published them (key id -> base64)."""
        return {row.key_id: row.public_key for row in conn.execute(_ALL_KEYS)}
