"""What every peer workload shares: arguments, a throwaway database, the result's shape.

A peer module supplies one ``measure(database_url, workload) -> Measurement``;
:func:`main` does the rest (fresh database, summary, JSON on stdout and in
``--json PATH``), so both peers report the same keys computed the same way.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from agentdeck.bench.stats import percentiles

__all__ = ["Measurement", "Workload", "main", "noop_tool"]


@dataclass(frozen=True)
class Workload:
    """How much to run: steps per run, sequential runs, runs submitted at once."""

    steps: int
    sequential: int
    concurrent: int


@dataclass(frozen=True)
class Measurement:
    """What a peer measured; :func:`summarize` turns it into the common result."""

    version: str
    run_latencies_s: list[float]
    concurrent_wall_s: float
    recorded_steps: int
    settings: dict[str, Any] = field(default_factory=dict)


def noop_tool(step: int) -> str:
    """The tool every step calls: does nothing, returns a small result to record."""
    return f"ok-{step}"


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _parser(peer: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m agentdeck.bench.peers.{peer}",
        description=f"The agentdeck bench workload on {peer}, on a throwaway PostgreSQL database.",
    )
    parser.add_argument("--database-url", required=True, help="admin URL (creates a database)")
    parser.add_argument("--steps", type=_positive, default=10)
    parser.add_argument("--sequential", type=_positive, default=50)
    parser.add_argument("--concurrent", type=_positive, default=200)
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    return parser


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summarize(peer: str, workload: Workload, m: Measurement) -> dict[str, Any]:
    """The result both peers share (latencies in ms; step latency is run latency / steps)."""
    runs = m.run_latencies_s
    spread = percentiles(runs, scale=1.0)
    p50, p95 = spread["p50"], spread["p95"]
    runs_per_s = workload.concurrent / m.concurrent_wall_s
    return {
        "peer": peer,
        "version": m.version,
        "steps": workload.steps,
        "sequential_runs": len(runs),
        "run_latency_ms": {"p50": _ms(p50), "p95": _ms(p95)},
        "step_latency_ms": {"p50": _ms(p50 / workload.steps), "p95": _ms(p95 / workload.steps)},
        "concurrent_runs": workload.concurrent,
        "runs_per_s": round(runs_per_s, 2),
        "steps_per_s": round(runs_per_s * workload.steps, 1),
        "recorded_steps": m.recorded_steps,
        "settings": m.settings,
    }


def _describe(conn: psycopg.Connection[Any], database: str) -> dict[str, str]:
    """The throwaway database's name and the server settings that decide durability."""
    described = {"database": database}
    for name in ("synchronous_commit", "fsync", "wal_sync_method"):
        row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        described[name] = str(row[0]) if row else "unknown"
    return described


@contextmanager
def fresh_database(admin_url: str, peer: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Create ``bench_<peer>_<random>``; yield its URL and a description for the result.

    The database is dropped afterwards, also when the workload fails.
    """
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"bench_{peer}_{uuid.uuid4().hex[:12]}"
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        described = _describe(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False), described
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Turn a terminate into SystemExit so the finally blocks drop the database.
    raise SystemExit(128 + signum)


def main(
    peer: str,
    measure: Callable[[str, Workload], Measurement],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse arguments, measure on a fresh database, print the result as JSON."""
    args = _parser(peer).parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workload = Workload(args.steps, args.sequential, args.concurrent)
    with fresh_database(args.database_url, peer) as (url, described):
        measurement = measure(url, workload)
    measurement.settings["postgres"] = described
    result = summarize(peer, workload, measurement)
    text = json.dumps(result, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0
