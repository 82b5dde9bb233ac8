"""Replaying every run of the archive through the planner, as ``replay --verify`` does one run.

Only the events the planner's replay reads are decoded (``READS``), plus the
events on their causation chains, so each run's folded events come in exactly
the order :func:`~agentdeck.cli.replay.log_order` gives the whole run. Runs are
independent: the archive is split into run ranges of about equal size, each
read and replayed by a process of its own (forked, one per CPU), each reading
only its own runs' rows.

Personal data is read as ``agentdeck replay RUN --verify`` reads it: opened
by the codec where its subject's key exists. A run with a field still sealed
after decoding (its subject erased, or no master key at hand) is not
re-checked, as there: its decisions depend on data that is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentdeck.claimcheck import REFERENCE_PREFIX, ClaimCheck, references
from agentdeck.cli.replay import load_run, log_order
from agentdeck.contracts import Codec, DecodeError, Event, default_codec
from agentdeck.contracts import models as m
from agentdeck.forking import can_fork, cpus, forked, rare_collections
from agentdeck.privacy import PREFIX, Sealer, erased_fields
from agentdeck.store import Store

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from agentdeck.planner.core import PlaybookSource, Templates, ToolInfo

__all__ = ["ArchiveReplay", "replay_archive"]

_TERMINAL = frozenset(t.EVENT_TYPE for t in (m.RunCompleted, m.RunFailed, m.RunCancelled))
_SEALED = PREFIX.encode()
_CLAIMED = REFERENCE_PREFIX.encode()


@dataclass
class ArchiveReplay:
    """What replaying the archive found.

    Attributes:
        events: Archived events read.
        runs: Runs folded (a run's events archived after its terminal event fold on their own).
        decisions: Planner decisions re-made.
        divergences: ``(run id, where replay and record part ways)`` of each diverging run.
        unchecked: ``(run id, personal-data fields erased)`` of each run not re-checked
            (counted in ``runs``; its decisions are not).
    """

    events: int = 0
    runs: int = 0
    decisions: int = 0
    divergences: list[tuple[str, str]] = field(default_factory=list)
    unchecked: list[tuple[str, int]] = field(default_factory=list)

    def add(self, other: ArchiveReplay) -> None:
        """Count ``other`` in too."""
        self.events += other.events
        self.runs += other.runs
        self.decisions += other.decisions
        self.divergences += other.divergences
        self.unchecked += other.unchecked


def replay_archive(
    store: Store,
    *,
    playbooks: PlaybookSource,
    tools: Mapping[str, ToolInfo],
    codec: Codec | None = None,
    processes: int | None = None,
) -> ArchiveReplay:
    """Fold every run of the archive through the planner and compare its decisions.

    Args:
        store: The store whose archive is replayed.
        playbooks: The playbooks the runs name.
        tools: The tools the planner knows.
        codec: Decodes the archive and opens personal data, as for ``replay RUN``
            (default: :func:`default_codec`, which leaves it sealed).
        processes: How many processes share the runs (default: one per CPU; forked, so
            only where this process runs no other thread; 1: this process alone).
    """
    parts = max(1, processes or cpus()) if can_fork() else 1
    if parts > 1:
        with store.transaction(read_only=True) as conn:
            splits: list[str | None] = [*store.archive.run_splits(conn, parts)]
    else:
        splits = []
    bounds = list(zip([None, *splits], [*splits, None], strict=True))
    job = _RangeReplay(playbooks, tools, codec or default_codec())
    children = [_forked(store, job, *bound) for bound in bounds[1:]]
    try:
        total = job(store, *bounds[0])
    finally:  # every child is waited for, whatever happens here
        outcomes = [_outcome(child) for child in children]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        total.add(outcome)
    return total


def _outcome(child: Callable[[], ArchiveReplay]) -> ArchiveReplay | BaseException:
    try:
        return child()
    except Exception as exc:  # noqa: BLE001 -- raised by the caller once all have ended
        return exc


@dataclass
class _Run:
    payloads: list[bytes] = field(default_factory=list)
    """The encoded events replay reads."""
    others: dict[str, bytes] = field(default_factory=dict)
    """The rest, by event id: decoded only if a read event's causation chain passes them."""


def _templates() -> Templates:
    from agentdeck.planner.core import Templates  # noqa: PLC0415 -- heavy imports

    return Templates()


@dataclass(frozen=True)
class _RangeReplay:
    playbooks: PlaybookSource
    tools: Mapping[str, ToolInfo]
    codec: Codec
    templates: Templates = field(default_factory=_templates)

    def __call__(
        self, store: Store, runs_from: str | None, runs_before: str | None
    ) -> ArchiveReplay:
        from agentdeck.planner.replay import READS  # noqa: PLC0415 -- heavy imports

        wanted = frozenset(t.EVENT_TYPE for t in READS)
        result = ArchiveReplay()
        open_runs: dict[str, _Run] = {}
        with rare_collections(), store.transaction(read_only=True) as conn:
            pages = store.archive.payload_pages(conn, runs_from=runs_from, runs_before=runs_before)
            for page in pages:
                result.events += len(page)
                for _seq, event_id, event_type, run_id, payload in page:
                    key = run_id or ""
                    run = open_runs.get(key) or open_runs.setdefault(key, _Run())
                    if event_type in wanted:
                        run.payloads.append(payload)
                    else:
                        run.others[event_id] = payload
                    if event_type in _TERMINAL:
                        self._fold(conn, store, key, open_runs.pop(key), result)
            for key, run in open_runs.items():
                self._fold(conn, store, key, run, result)
        return result

    def _fold(
        self, conn: Connection, store: Store, run_id: str, run: _Run, result: ArchiveReplay
    ) -> None:
        from agentdeck.planner.replay import replay_run, replayed_targets  # noqa: PLC0415

        events = self._decoded(run.payloads)
        sealed = any(_SEALED in payload for payload in run.payloads)
        claimed = any(_CLAIMED in payload for payload in run.payloads)
        chained = list(events)
        while chained:  # the skipped events each read event descends from, for log_order
            cause = chained.pop().envelope.causation_id
            if cause and cause in run.others:
                payload = run.others.pop(cause)
                found = self._decoded([payload])
                sealed = sealed or _SEALED in payload
                claimed = claimed or _CLAIMED in payload
                events += found
                chained += found
        # A reference is in its event's bytes, or in a sealed value the codec opened.
        if (claimed or sealed) and any(references(e) for e in events):
            cipher = self.codec.cipher  # payloads are sealed like the fields they stand for
            sealer = cipher if isinstance(cipher, Sealer) else None
            events = ClaimCheck(store.payloads, cipher=sealer).resolve(conn, events)
        if sealed:  # else nothing can be erased
            erased = erased_fields(events, self.codec.sensitive)
            if erased:
                result.runs += 1
                result.unchecked.append((run_id, len(erased)))
                return
        targets = replayed_targets(  # a rollback run's: rebuilt from their own events
            events,
            lambda other: load_run(store, other, self.codec),
            playbooks=self.playbooks,
            tools=self.tools,
            templates=self.templates,
        )
        replayed = replay_run(
            log_order(events),
            playbooks=self.playbooks,
            tools=self.tools,
            templates=self.templates,
            targets=targets,
        )
        result.runs += 1
        result.decisions += replayed.decisions
        if replayed.divergence is not None:
            result.divergences.append((run_id, replayed.divergence.describe()))

    def _decoded(self, payloads: list[bytes]) -> list[Event]:
        events = []
        for payload in payloads:
            try:
                events.append(self.codec.decode(payload))
            except DecodeError:
                continue  # as load_run: what does not decode is not part of the run
        return events


def _forked(
    store: Store, job: _RangeReplay, runs_from: str | None, runs_before: str | None
) -> Callable[[], ArchiveReplay]:
    """Run ``job`` over a run range in a forked process, on an engine of its own."""
    url = store.engine.url.render_as_string(hide_password=False)

    def in_child() -> ArchiveReplay:
        store.engine.dispose(close=False)  # the parent's connections stay the parent's
        with Store.open(url, upgrade=False) as own:
            return job(own, runs_from, runs_before)

    return forked(in_child, f"the replay of runs from {runs_from!r}")
