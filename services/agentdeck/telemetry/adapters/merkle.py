"""The archive's Merkle log, kept in ``service_state`` under ``telemetry-checkpoints``.

Keys:
    ``head``: tree size, last logged ``seq`` and the frontier (optimistically versioned,
        so two telemetry replicas never both extend the log);
    ``leaves/<first leaf index>``: one chunk of logged leaves ``[seq, event_id, hash, run_prev]``;
    ``run/<run id>``: the leaf index of the run's latest logged event (its chain's end);
    ``runhead/<run id>``: the run's latest signed :class:`~agentdeck.audit.RunHead`;
    ``runheads``: how many runs have one (what the next checkpoint signs as ``run_heads``);
    ``checkpoint/<tree size>``: a signed :class:`~agentdeck.audit.Checkpoint`;
    ``note/<tree size>``: the same checkpoint as a signed C2SP checkpoint note (text);
    ``key/<key id>``: the public key of a checkpoint signer, as published.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from agentdeck.audit import Checkpoint, Frontier, LeafRow, LoggedLeaf, RunHead, log_events
from agentdeck.errors import RetryableError
from agentdeck.store import ArchivedEvent, StateRepository

__all__ = ["SERVICE", "LogContention", "LogHead", "MerkleLogStore"]

SERVICE = "telemetry-checkpoints"
_HEAD, _LEAVES, _CHECKPOINTS, _KEYS, _RUNS = "head", "leaves/", "checkpoint/", "key/", "run/"
_RUN_HEADS, _RUN_HEAD_COUNT, _NOTES = "runhead/", "runheads", "note/"
_ALL = 1 << 62
_AFTER_LEAVES = "leaves0"  # sorts right after every "leaves/..." key ("0" follows "/")


def _chunk_key(first: int) -> str:
    return f"{_LEAVES}{first:015d}"


class LogContention(RetryableError):
    """Another writer extended the log first; the next tick starts from its head."""


@dataclass(frozen=True)
class LogHead:
    """Where the log stands: the frontier of its tree and the last archive seq it holds."""

    frontier: Frontier
    last_seq: int
    version: int | None


class MerkleLogStore:
    """Reads and extends the log inside the caller's transaction."""

    def __init__(self, state: StateRepository | None = None, *, service: str = SERVICE) -> None:
        self._state = state or StateRepository()
        self._service = service

    @property
    def service(self) -> str:
        """The ``service_state`` service the log is kept under."""
        return self._service

    def head(self, conn: Connection) -> LogHead:
        """The current head (an empty log if nothing was logged yet)."""
        entry = self._state.get(conn, self._service, _HEAD)
        if entry is None:
            return LogHead(Frontier(), 0, None)
        data = json.loads(entry.state)
        nodes = [bytes.fromhex(h) for h in data["frontier"]]
        return LogHead(Frontier(data["size"], nodes), data["last_seq"], entry.version)

    def append(self, conn: Connection, head: LogHead, events: Sequence[ArchivedEvent]) -> LogHead:
        """Log ``events`` (archive order, all after ``head``) as one chunk; the new head.

        Raises:
            LogContention: another writer moved the head since it was read.
        """
        frontier = Frontier(head.frontier.size, head.frontier.nodes)
        run_keys = {f"{_RUNS}{e.run_id}" for e in events if e.run_id is not None}
        found = self._state.get_many(conn, self._service, run_keys)
        last_of_run = {k.removeprefix(_RUNS): int(v.state) for k, v in found.items()}
        leaves = log_events(events, frontier.size, last_of_run)
        for leaf in leaves:
            frontier.append(leaf.leaf_hash)
        rows = [[x.seq, x.event_id, x.leaf_hash.hex(), x.run_prev] for x in leaves]
        new = LogHead(frontier, events[-1].seq, head.version)
        state = {
            "size": frontier.size,
            "last_seq": new.last_seq,
            "frontier": [n.hex() for n in frontier.nodes],
        }
        version = self._state.put(
            conn, self._service, _HEAD, json.dumps(state), expected_version=head.version
        )
        if version is None:
            raise LogContention(
                "the Merkle log head moved; the next tick starts from the new head",
                capability="telemetry.merkle",
                code="log_head_moved",
                remediation=("nothing: the other writer logged these events",),
            )
        chunk = {"first": head.frontier.size, "leaves": rows}
        key = _chunk_key(head.frontier.size)
        runs = {f"{_RUNS}{run}": str(index) for run, index in last_of_run.items()}
        self._state.upsert_many(conn, self._service, {key: json.dumps(chunk), **runs})
        return LogHead(frontier, new.last_seq, version)

    def add_checkpoint(self, conn: Connection, cp: Checkpoint, public_key_b64: str) -> None:
        """Store a signed checkpoint and publish its signer's public key."""
        self._state.upsert_many(
            conn,
            self._service,
            {
                f"{_CHECKPOINTS}{cp.tree_size:015d}": cp.model_dump_json(),
                f"{_KEYS}{cp.key_id}": public_key_b64,
            },
        )

    def add_note(self, conn: Connection, tree_size: int, note: str) -> None:
        """Store the signed checkpoint note of tree size ``tree_size``."""
        self._state.upsert_many(conn, self._service, {f"{_NOTES}{tree_size:015d}": note})

    def latest_note(self, conn: Connection) -> str | None:
        """The signed checkpoint note of the largest tree, if any checkpoint has one."""
        entries = self._state.scan(conn, self._service, prefix=_NOTES, limit=_ALL)
        return entries[-1].state if entries else None

    def run_head_count(self, conn: Connection) -> int:
        """How many runs have a signed run head."""
        entry = self._state.get(conn, self._service, _RUN_HEAD_COUNT)
        return 0 if entry is None else int(entry.state)

    def put_run_heads(self, conn: Connection, heads: Iterable[RunHead], count: int) -> None:
        """Store signed run heads, each replacing its run's previous one, and the new count."""
        values = {f"{_RUN_HEADS}{h.run_id}": h.model_dump_json() for h in heads}
        self._state.upsert_many(conn, self._service, {**values, _RUN_HEAD_COUNT: str(count)})

    def run_heads(self, conn: Connection, run_ids: Iterable[str]) -> dict[str, RunHead]:
        """The latest signed run heads of ``run_ids`` (runs without one are left out)."""
        keys = {f"{_RUN_HEADS}{run_id}" for run_id in run_ids}
        found = self._state.get_many(conn, self._service, keys)
        return {
            key.removeprefix(_RUN_HEADS): RunHead.model_validate_json(entry.state)
            for key, entry in found.items()
        }

    def all_run_heads(self, conn: Connection) -> list[RunHead]:
        """Every stored run head (one per run: its latest)."""
        entries = self._state.scan(conn, self._service, prefix=_RUN_HEADS, limit=_ALL)
        return [RunHead.model_validate_json(e.state) for e in entries]

    def leaves(self, conn: Connection) -> list[LoggedLeaf]:
        """Every logged leaf, in index order."""
        return [LoggedLeaf(*row) for row in self.leaf_rows(conn, 0, None)]

    def chunk_starts(self, conn: Connection) -> list[int]:
        """The first leaf index of each stored chunk of leaves, ascending."""
        return [
            int(key.removeprefix(_LEAVES))
            for key in self._state.keys(conn, self._service, prefix=_LEAVES)
        ]

    def leaf_rows(self, conn: Connection, first: int, end: int | None) -> Iterator[LeafRow]:
        """The leaves of the chunks whose first leaf is in ``[first, end)`` (no end: all after).

        As ``(index, seq, event_id, leaf hash, run_prev)``, in stored order, streamed.
        """
        stop = _AFTER_LEAVES if end is None else _chunk_key(end)
        for entry in self._state.scan_range(conn, self._service, _chunk_key(first), stop):
            chunk = json.loads(entry.state)
            fromhex = bytes.fromhex
            yield from (
                (i, seq, event_id, fromhex(h), prev)
                for i, (seq, event_id, h, prev) in enumerate(chunk["leaves"], start=chunk["first"])
            )

    def leaf_seq(self, conn: Connection, index: int) -> int | None:
        """The archive ``seq`` logged for leaf ``index``, if the log holds it."""
        starts = [start for start in self.chunk_starts(conn) if start <= index]
        if not starts:
            return None
        end = starts[-1] + 1
        return next(
            (row[1] for row in self.leaf_rows(conn, starts[-1], end) if row[0] == index), None
        )

    def checkpoints(self, conn: Connection) -> list[Checkpoint]:
        """Every stored checkpoint, by tree size."""
        entries = self._state.scan(conn, self._service, prefix=_CHECKPOINTS, limit=_ALL)
        return [Checkpoint.model_validate_json(e.state) for e in entries]

    def published_keys(self, conn: Connection) -> dict[str, str]:
        """The signers' public keys as the checkpointer published them (key id -> base64)."""
        entries = self._state.scan(conn, self._service, prefix=_KEYS, limit=_ALL)
        return {e.key.removeprefix(_KEYS): e.state for e in entries}
