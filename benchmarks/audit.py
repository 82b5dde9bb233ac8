"""Audit benchmark: replay and verification throughput over a generated archive.

``python benchmarks/audit.py [--events N] [--in-flight K] [--database-url URL] [--json PATH]``

Generates runs of 10 sequential steps (each a no-op tool call: allowed, budget
held, started, completed, settled) with the services' own pure code: the
planner's ``decide``, the policy-checker's ``events_for`` (Ed25519-signed
decisions), the executor's ``call_events``; ``K`` runs are in flight at once,
so the archive interleaves them as a live one does. Every event is encoded
with the real codec and archived, with the headers its writer's record carries
(event type, writer fingerprint, the record signature of authority events),
through the real ``Store`` (default: a fresh
SQLite file in a temporary directory; ``--database-url`` for PostgreSQL), then
telemetry's ``Checkpointer`` logs the archive into the Merkle log with signed
checkpoints. A PostgreSQL store is then vacuumed and analyzed, as autovacuum leaves
an archive long before it is audited (``at_rest``). Then it measures:

- replay: ``replay_archive`` (the archive read in run ranges, one process per
  CPU; the payloads the planner's replay reads decoded, grouped by run and
  folded through ``replay_run``: the run state rebuilt and every planner
  decision re-checked against the record), events per second;
- verify: ``verify_archive``, exactly what ``agentdeck audit verify`` runs (the
  archive read and rehashed in seq ranges, one process per CPU, against the
  Merkle log, its checkpoints, run heads and signatures, payload references
  checked), events per second.

Both are printed against the previous figures (``PREVIOUS_*``, with the commit
they were measured at) and against what a month of archive needs.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentdeck.audit import Completeness
from agentdeck.cli.audit import verify_archive
from agentdeck.cli.replay_archive import replay_archive
from agentdeck.contracts import Codec, Event, Producer, default_codec, envelope_for
from agentdeck.contracts import models as m
from agentdeck.hashing import sha256_hex
from agentdeck.ids import decision_id_for, reservation_id_for
from agentdeck.kafka import topic_for
from agentdeck.kafka.authority import SIGNED
from agentdeck.kafka.headers import event_headers
from agentdeck.planner.core import Context, Playbook, Templates, decide
from agentdeck.planner.core.context import ToolInfo
from agentdeck.policy_checker.core import DecisionRecord, HeldBudget, events_for
from agentdeck.signing import Signer, Verifier, generate_private_key, sign_record
from agentdeck.store import ArchiveRecord, Store
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.telemetry.checkpoints import Checkpointer
from agentdeck.telemetry.core.archive import archive_record
from agentdeck.tool_executor.core.record import CallRecord, Completion, call_events

# The previous figures: the first release's `make bench-audit` (1,000,000 events,
# SQLite, 2 cores), as reported when its audit work was planned, before batched lean
# reads, parallel rehashing and decoding only what replay reads (the code as of
# c28d61b). The ratios printed are against these; that code rerun on a slower, busy
# machine gave 6,449 and 18,432 (docs/performance.md).
PREVIOUS_REPLAY_EVENTS_PER_S = 9_700
PREVIOUS_VERIFY_EVENTS_PER_S = 28_000
PREVIOUS_FROM = "first release (code as of c28d61b)"
# What a month of archive needs on the 2-core machine.
REQUIRED_REPLAY_EVENTS_PER_S = 50_000
REQUIRED_VERIFY_EVENTS_PER_S = 200_000

STEPS = 10
PREFIX = "bench"
PARTITIONS = 3
TOOLS = {"noop": ToolInfo("1.0.0", m.SideEffect.READ, 1_000, "does nothing")}
PLAYBOOK = Playbook.model_validate(
    {
        "name": "ten-noops",
        "version": "1",
        "agent": "bench-agent",
        "steps": [
            {"id": f"s{i}", "tool": "noop", "args": {"n": i}, "depends_on": [f"s{i - 1}"] * (i > 0)}
            for i in range(STEPS)
        ],
    }
)
PLANNER = Producer(service="planner", version="bench")
POLICY = Producer(service="policy-checker", version="bench")
EXECUTOR = Producer(service="tool-executor", version="bench")
CLIENT = Producer(service="cli", version="bench")
MS = timedelta(milliseconds=1)


class _Playbooks:
    def get(self, name: str, version: str | None) -> Playbook:  # noqa: ARG002 -- one playbook
        return PLAYBOOK


PLAYBOOKS = _Playbooks()


def _context(now: datetime) -> Context:
    return Context(
        now=now, producer=PLANNER, playbooks=PLAYBOOKS, tools=TOOLS, templates=Templates()
    )


def _goal(run_id: str, now: datetime) -> m.GoalSubmitted:
    envelope = envelope_for(
        m.GoalSubmitted,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, run_id)),
        tenant="acme",
        producer=CLIENT,
        occurred_at=now,
        run_id=run_id,
    )
    return m.GoalSubmitted(
        envelope=envelope,
        goal="ten no-op steps",
        inputs_json="{}",
        playbook=PLAYBOOK.name,
        requested_by="bench",
        limits=m.RunLimits(),
    )


def _decision(request: m.ToolCallRequested, now: datetime, signer: Signer) -> list[Event]:
    decision_id = decision_id_for(request.envelope.event_id)
    record = DecisionRecord(
        decision_id=decision_id,
        outcome=m.DecisionOutcome.ALLOW,
        matched=("read-tools-allowed",),
        reason="noop only reads",
        decided_at=now,
        expires_at=now + timedelta(seconds=60),
        bundle_version="bench",
        bundle_digest="0" * 64,
        side_effect=m.SideEffect.READ,
        tool_version="1.0.0",
        max_cost_micros=1_000,
        hold=HeldBudget(
            reservation_id=reservation_id_for(decision_id),
            scope="tenant:acme",
            amount_micros=1_000,
            remaining_micros=10**12,
        ),
    )
    return events_for(record, request, identity=POLICY, key=signer)


def _call(decision: m.PolicyDecided, now: datetime) -> list[Event]:
    output = json.dumps({"ok": True, "step": decision.envelope.step_id})
    record = CallRecord(
        started=True,
        started_at=now,
        finished_at=now + MS,
        duration_ms=1,
        tries=1,
        completion=Completion(
            output_json=output,
            output_hash=sha256_hex(output),
            cost_micros=500,
            source="noop",
            tool_version="1.0.0",
        ),
    )
    return call_events(decision, record, producer=EXECUTOR)


def run_events(run_id: str, start: datetime, signer: Signer) -> Iterator[list[Event]]:
    """One run's events, one step at a time, as the services would have produced them."""
    now = start
    goal = _goal(run_id, now)
    state, out = decide(None, goal, _context(now))
    yield [goal, *out]
    while requests := [e for e in out if isinstance(e, m.ToolCallRequested)]:
        batch: list[Event] = []
        out = []
        for request in requests:
            now += MS
            decided = _decision(request, now, signer)
            decision = next(e for e in decided if isinstance(e, m.PolicyDecided))
            state, planned = decide(state, decision, _context(now))
            now += MS
            called = _call(decision, now)
            now += MS
            state, reacted = decide(state, called[-1], _context(now))
            batch += [*decided, *planned, *called, *reacted]
            out += reacted
        yield batch


def generate(store: Store, codec: Codec, total: int, in_flight: int) -> tuple[int, int]:
    """Archive at least ``total`` events of interleaved runs; (events, runs)."""
    signer = Signer("policy-1", generate_private_key())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    active: list[Iterator[list[Event]]] = []
    written = runs = 0
    pending: list[ArchiveRecord] = []
    while written + len(pending) < total or active:
        while len(active) < in_flight and written + len(pending) < total:
            runs += 1
            active.append(run_events(f"bench-{runs:08d}", start + runs * MS, signer))
        for run in list(active):
            batch = next(run, None)
            if batch is None:
                active.remove(run)
                continue
            pending += [_record(codec, event, offsets, signer) for event in batch]
        if len(pending) >= 5_000 or not active:
            with store.transaction() as conn:
                store.archive.append_many(conn, pending)
            written += len(pending)
            pending = []
    return written, runs


def _record(
    codec: Codec, event: Event, offsets: dict[tuple[str, int], int], signer: Signer
) -> ArchiveRecord:
    """``event`` as telemetry archives it, with the headers its writer's record carries."""
    env = event.envelope
    topic = topic_for(event).full(PREFIX)
    partition = zlib.crc32((env.run_id or "").encode()) % PARTITIONS
    offset = offsets[(topic, partition)]
    offsets[(topic, partition)] = offset + 1
    value = codec.encode(event)
    fingerprint = codec.writer_of(type(event)).fingerprint_hex
    headers: list[tuple[str, bytes | None]] = [
        (name, text.encode()) for name, text in event_headers(env, fingerprint).items()
    ]
    if type(event) in SIGNED:
        headers += sign_record(signer, value)
    return archive_record(
        event,
        value=value,
        fingerprint_hex=fingerprint,
        topic=topic,
        partition=partition,
        offset=offset,
        headers=tuple(headers),
        archived_at=env.occurred_at + MS,
    )


def log_archive(store: Store, signer: Signer) -> int:
    """Log the whole archive into the Merkle log with signed checkpoints; checkpoints made."""
    checkpointer = Checkpointer(store, signer)
    made = 0
    while checkpointer.tick() is not None:
        made += 1
    return made


def at_rest(store: Store) -> None:
    """Bring a PostgreSQL store to the state an archive is audited in: vacuumed and analyzed,
    as autovacuum leaves tables long before anyone verifies them. Fresh from a million
    inserts, the first read of every row also writes it (its hint bits), and the planner has
    no statistics yet. Nothing to do on SQLite."""
    if store.engine.dialect.name != "postgresql":
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")


def replay_all(store: Store) -> tuple[int, int, int]:
    """Fold every run of the archive through the planner; (events, runs, diverged)."""
    replayed = replay_archive(store, playbooks=PLAYBOOKS, tools=TOOLS)
    return replayed.events, replayed.runs, len(replayed.divergences)


def verify_all(store: Store, trusted: Signer) -> tuple[int, bool]:
    """``agentdeck audit verify`` over the archive, trusting the signer's key: (events, ok)."""
    verifier = Verifier({trusted.key_id: trusted.public_key_b64()})
    report = verify_archive(store, verifier, Completeness())
    return report.events, report.ok


def _timed(fn: Callable[..., Any], *args: object) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _compare(name: str, rate: float, previous: int, required: int) -> None:
    met = "met" if rate >= required else "not met"
    print(
        f"  {name:<20} {rate / previous:>11.2f}x  the previous {previous:,} events/s; "
        f"required {required:,}: {met}"
    )


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Generate, log, replay, verify; print the numbers (and write them with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Archive at least this many.")
    parser.add_argument("--in-flight", type=int, default=200, help="Runs interleaved at once.")
    parser.add_argument("--database-url", default="", help="Store URL; default: fresh SQLite.")
    parser.add_argument("--json", type=Path, help="Also write the numbers here.")
    args = parser.parse_args(argv)
    codec = default_codec()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.database_url, data_dir=tmp, schemas=(TELEMETRY,))
        try:
            (events, runs), gen_s = _timed(generate, store, codec, args.events, args.in_flight)
            signer = Signer("telemetry-1", generate_private_key())
            checkpoints, log_s = _timed(log_archive, store, signer)
            at_rest(store)
            (replayed, folded, diverged), replay_s = _timed(replay_all, store)
            (verified, ok), verify_s = _timed(verify_all, store, signer)
            backend = store.engine.dialect.name
        finally:
            store.close()
    if diverged or not ok or replayed != events or verified != events:
        raise SystemExit(f"benchmark archive did not check out: {diverged} diverged, ok={ok}")
    numbers: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}",
        "store": backend,
        "events": events,
        "runs": runs,
        "steps_per_run": STEPS,
        "checkpoints": checkpoints,
        "generate_events_per_s": events / gen_s,
        "merkle_log_events_per_s": events / log_s,
        "replay_events_per_s": replayed / replay_s,
        "replay_runs_per_s": folded / replay_s,
        "verify_events_per_s": verified / verify_s,
        "previous": {
            "from": PREVIOUS_FROM,
            "replay_events_per_s": PREVIOUS_REPLAY_EVENTS_PER_S,
            "verify_events_per_s": PREVIOUS_VERIFY_EVENTS_PER_S,
        },
        "replay_vs_previous": replayed / replay_s / PREVIOUS_REPLAY_EVENTS_PER_S,
        "verify_vs_previous": verified / verify_s / PREVIOUS_VERIFY_EVENTS_PER_S,
    }
    replay_rate, verify_rate = replayed / replay_s, verified / verify_s
    print(f"archive: {events:,} events of {runs:,} runs ({STEPS} steps) on {backend}")
    print(f"  generate + archive   {events / gen_s:>12,.0f} events/s  ({gen_s:.1f} s)")
    print(f"  Merkle log + sign    {events / log_s:>12,.0f} events/s  ({checkpoints} checkpoints)")
    print(f"  replay (decode+fold) {replay_rate:>12,.0f} events/s  ({replay_s:.1f} s)")
    print(f"  verify (audit)       {verify_rate:>12,.0f} events/s  ({verify_s:.1f} s)")
    print(f"against the previous figures ({PREVIOUS_FROM}) and what a month needs:")
    _compare("replay", replay_rate, PREVIOUS_REPLAY_EVENTS_PER_S, REQUIRED_REPLAY_EVENTS_PER_S)
    _compare("verify", verify_rate, PREVIOUS_VERIFY_EVENTS_PER_S, REQUIRED_VERIFY_EVENTS_PER_S)
    if args.json is not None:
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    return numbers


if __name__ == "__main__":
    main()
