"""The bench workload on DBOS with its system database on PostgreSQL.

``python -m agentdeck.bench.peers.dbos --database-url URL [--steps 10]
[--sequential 50] [--concurrent 200] [--json PATH]``

A ``DBOS.workflow`` calling ``steps`` ``DBOS.step`` functions one after
another, each the no-op tool, so each step's output is committed to the system
database before the next starts. Sequential runs call the workflow directly;
the concurrent runs are all started with ``DBOS.start_workflow`` (DBOS's
executor threads), then every handle's result is awaited. DBOS's defaults are
kept: a system database pool of 20, unbounded executor threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import psycopg
from dbos import DBOS, DBOSConfig

from agentdeck.bench.peers._harness import Measurement, Workload, main, noop_tool

__all__ = ["measure"]

STEP_NAME = "agentdeck_bench_noop_tool"
SYS_DB_POOL_SIZE = 20  # DBOS's default, set explicitly so the result states it


def _register() -> Callable[[int], list[str]]:
    """Register the step and the workflow (DBOS wants them before launch)."""
    step: Callable[[int], str] = DBOS.step(name=STEP_NAME)(noop_tool)

    def bench_run(steps: int) -> list[str]:
        return [step(index) for index in range(steps)]

    workflow: Callable[[int], list[str]] = DBOS.workflow(name="agentdeck_bench_run")(bench_run)
    return workflow


def _checked(results: list[str], steps: int) -> None:
    if len(results) != steps:
        raise RuntimeError(f"a run ended with {len(results)} of {steps} results")


def _timed_run(workflow: Callable[[int], list[str]], steps: int) -> float:
    start = time.perf_counter()
    results = workflow(steps)
    elapsed = time.perf_counter() - start
    _checked(results, steps)
    return elapsed


def _recorded_steps(url: str) -> int:
    with psycopg.connect(url) as conn:
        query = "SELECT count(*) FROM dbos.operation_outputs WHERE function_name = %s"
        row = conn.execute(query, (STEP_NAME,)).fetchone()
    return int(row[0]) if row else 0


def _run_all(workflow: Callable[[int], list[str]], workload: Workload) -> tuple[list[float], float]:
    _timed_run(workflow, workload.steps)  # warm-up: first queries, caches, pool
    latencies = [_timed_run(workflow, workload.steps) for _ in range(workload.sequential)]
    start = time.perf_counter()
    handles = [DBOS.start_workflow(workflow, workload.steps) for _ in range(workload.concurrent)]
    results = [handle.get_result() for handle in handles]
    wall = time.perf_counter() - start
    for result in results:
        _checked(result, workload.steps)
    return latencies, wall


def measure(url: str, workload: Workload) -> Measurement:
    """Launch DBOS on the database at ``url``, run warm-up, sequential and concurrent runs."""
    config: DBOSConfig = {
        "name": "agentdeck-bench",
        "system_database_url": url,
        "sys_db_pool_size": SYS_DB_POOL_SIZE,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    workflow = _register()
    DBOS.launch()
    try:
        latencies, wall = _run_all(workflow, workload)
    finally:
        DBOS.destroy(destroy_registry=True)
    settings: dict[str, Any] = {
        "system_database": "postgresql",
        "sys_db_pool_size": SYS_DB_POOL_SIZE,
        "executor_threads": "unbounded (DBOS default)",
        "workflow": f"{workload.steps} DBOS.step calls in sequence, one no-op tool call each",
        "concurrency": "DBOS.start_workflow, then each handle's get_result",
        "warm_up_runs": 1,
    }
    return Measurement(
        version=version("dbos"),
        run_latencies_s=latencies,
        concurrent_wall_s=wall,
        recorded_steps=_recorded_steps(url),
        settings=settings,
    )


if __name__ == "__main__":
    raise SystemExit(main("dbos", measure))
