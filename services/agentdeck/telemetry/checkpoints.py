"""The checkpoint task: extend the archive's Merkle log and sign a checkpoint, every N seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agentdeck.audit import (
    TERMINAL_EVENT_TYPES,
    Checkpoint,
    RunHead,
    TreeHead,
    audit_origin,
    sign_checkpoint,
    sign_run_heads,
    sign_tree_head,
)
from agentdeck.errors import RetryableError
from agentdeck.runtime import BackgroundTask, Clock, utc_now
from agentdeck.signing import Signer, required_signer
from agentdeck.store import ArchivedEvent, Store
from agentdeck.telemetry.adapters.merkle import MerkleLogStore
from agentdeck.telemetry.settings import TelemetrySettings

__all__ = ["Checkpointer", "checkpoint_task", "checkpoint_tasks"]

log = logging.getLogger(__name__)


@dataclass
class _RunTally:
    """What one tick logged of one run."""

    events: int = 0
    last_leaf: int = 0
    terminal_leaf: int | None = None


def _tally(tallies: dict[str, _RunTally], rows: Sequence[ArchivedEvent], first: int) -> None:
    """Count ``rows`` (logged from leaf ``first``) into their runs' tallies."""
    for index, row in enumerate(rows, start=first):
        if row.run_id is None:
            continue
        tally = tallies.setdefault(row.run_id, _RunTally())
        tally.events += 1
        tally.last_leaf = index
        if row.event_type in TERMINAL_EVENT_TYPES and tally.terminal_leaf is None:
            tally.terminal_leaf = index


class Checkpointer:
    """Appends the archive rows after the log's head to the log, then signs the new head.

    The head is signed twice: as agentdeck's checkpoint, and as a C2SP
    checkpoint note of ``origin`` that standard note tooling and witnesses read.
    One transaction per tick: the new leaves, the head, the checkpoint, its note and the
    signed run heads of the runs it touched are stored together or not at
    all, and a concurrent replica loses the optimistic head write instead of
    forking the log.
    """

    def __init__(
        self,
        store: Store,
        signer: Signer,
        *,
        log_store: MerkleLogStore | None = None,
        origin: str = audit_origin("agentdeck"),
        clock: Clock = utc_now,
        page: int = 1000,
        max_pages: int = 50,
    ) -> None:
        self._store = store
        self._signer = signer
        self._log = log_store or MerkleLogStore()
        self._origin = origin
        self._clock = clock
        self._page = page
        self._max_pages = max_pages
        self.behind = False
        """Whether the last tick stopped at ``max_pages`` with more rows waiting."""

    def tick(self) -> Checkpoint | None:
        """Log what was archived since the last tick; the new checkpoint, if anything was."""
        with self._store.transaction() as conn:
            head = start = self._log.head(conn)
            tallies: dict[str, _RunTally] = {}
            self.behind = True
            for _ in range(self._max_pages):
                rows = self._store.archive.iter_from(conn, head.last_seq, self._page)
                if rows:
                    _tally(tallies, rows, head.frontier.size)
                    head = self._log.append(conn, head, rows)
                if len(rows) < self._page:
                    self.behind = False
                    break
            if head.frontier.size == start.frontier.size:
                return None
            now = self._clock()
            previous = self._log.run_heads(conn, tallies)
            # The checkpoint counts the runs with a head, so deleting heads shows.
            count = self._log.run_head_count(conn) + len(tallies.keys() - previous.keys())
            cp = sign_checkpoint(
                self._signer, head.frontier.size, head.frontier.root(), now, run_heads=count
            )
            self._log.add_checkpoint(conn, cp, self._signer.public_key_b64())
            note = sign_tree_head(self._signer, TreeHead(self._origin, cp.tree_size, cp.root()))
            self._log.add_note(conn, cp.tree_size, note.render())
            heads = self._run_heads(tallies, previous, cp.tree_size, now)
            self._log.put_run_heads(conn, heads, count)
        return cp

    def _run_heads(
        self,
        tallies: dict[str, _RunTally],
        previous: dict[str, RunHead],
        tree_size: int,
        now: datetime,
    ) -> list[RunHead]:
        """The heads of the runs this checkpoint touched, signed together."""
        heads = []
        for run_id, tally in tallies.items():
            before = previous.get(run_id)
            terminal = tally.terminal_leaf
            if before is not None and before.terminal_leaf is not None:
                terminal = before.terminal_leaf
            events = tally.events + (before.events if before is not None else 0)
            heads.append((run_id, events, tally.last_leaf, terminal))
        return sign_run_heads(self._signer, heads, tree_size=tree_size, now=now)

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Tick every ``interval_s`` seconds until ``stop`` is set (and once more at the end).

        A tick that stopped with rows still waiting is followed at once by the next.
        """
        while not stop.wait(0 if self.behind else interval_s):
            self._tick_logged()
        self._tick_logged()

    def _tick_logged(self) -> None:
        try:
            cp = self.tick()
        except RetryableError as exc:
            self.behind = False  # wait out the interval before trying again
            log.warning("checkpoint skipped: %s", exc)
            return
        if cp is not None:
            log.info("checkpoint: %d events, root %s", cp.tree_size, cp.root_hash)


def checkpoint_task(
    store: Store,
    signer: Signer,
    *,
    interval_s: float,
    origin: str = audit_origin("agentdeck"),
    clock: Clock = utc_now,
) -> BackgroundTask:
    """A :class:`~agentdeck.runtime.ServiceRunner` task running a :class:`Checkpointer`."""
    checkpointer = Checkpointer(store, signer, origin=origin, clock=clock)

    def run(stop: threading.Event) -> None:
        checkpointer.run(stop, interval_s)

    return run


def checkpoint_tasks(
    settings: TelemetrySettings, store: Store, *, clock: Clock = utc_now
) -> list[tuple[str, BackgroundTask]]:
    """The checkpoint task for ``ServiceRunner(tasks=...)``.

    Raises:
        ConfigError: no checkpoint signing key is set. An archive without signed
            checkpoints proves nothing, so telemetry does not run without one.
    """
    key = settings.checkpoint_signing_key
    signer = required_signer(
        settings.checkpoint_key_id,
        None if key is None else key.get_secret_value(),
        setting="AGENTDECK_TELEMETRY_CHECKPOINT_SIGNING_KEY",
    )
    task = checkpoint_task(
        store,
        signer,
        interval_s=settings.checkpoint_interval_s,
        origin=audit_origin(settings.kafka.topic_prefix),
        clock=clock,
    )
    return [("checkpoints", task)]
