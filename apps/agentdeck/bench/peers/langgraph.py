"""The bench workload on LangGraph with its PostgreSQL checkpointer.

``python -m agentdeck.bench.peers.langgraph --database-url URL [--steps 10]
[--sequential 50] [--concurrent 200] [--json PATH]``

A graph of ``steps`` nodes in sequence, each calling the no-op tool and adding
its result to the state; compiled with ``AsyncPostgresSaver`` over a
``psycopg_pool`` pool and run with ``durability="sync"``, so every step's
checkpoint is committed before the next step starts. Sequential runs await one
``ainvoke`` after another; the concurrent runs are one ``asyncio.gather``.
Every run has its own ``thread_id``.
"""

from __future__ import annotations

import asyncio
import operator
import time
import uuid
from collections.abc import Awaitable
from importlib.metadata import version
from typing import Annotated, Any, Protocol, TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from agentdeck.bench.peers._harness import Measurement, Workload, main, noop_tool

__all__ = ["measure"]

POOL_MIN, POOL_MAX = 2, 10


class _State(TypedDict):
    results: Annotated[list[str], operator.add]


class _Node(Protocol):
    def __call__(self, state: _State) -> Awaitable[dict[str, list[str]]]: ...


def _node(index: int) -> _Node:
    async def step(state: _State) -> dict[str, list[str]]:
        del state  # each step's input is the run so far; the tool call does not need it
        return {"results": [noop_tool(index)]}

    return step


def _graph(steps: int, saver: AsyncPostgresSaver) -> Any:  # a CompiledStateGraph
    builder = StateGraph(_State)
    previous = START
    for index in range(steps):
        name = f"step_{index}"
        builder.add_node(name, _node(index))
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=saver)


async def _run(graph: Any, steps: int) -> float:
    start = time.perf_counter()
    thread = {"configurable": {"thread_id": uuid.uuid4().hex}}
    state = await graph.ainvoke({"results": []}, thread, durability="sync")
    elapsed = time.perf_counter() - start
    if len(state["results"]) != steps:
        raise RuntimeError(f"a run ended with {len(state['results'])} of {steps} results")
    return elapsed


async def _recorded_steps(pool: AsyncConnectionPool[Any]) -> int:
    # The nodes' writes to ``results``; the graph input is written by ``__start__``.
    query = (
        "SELECT count(*) AS n FROM checkpoint_writes"
        " WHERE channel = 'results' AND task_path NOT LIKE '%%__start__%%'"
    )
    async with pool.connection() as conn:
        cur = await conn.execute(query)
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def _measure(url: str, workload: Workload) -> Measurement:
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    async with AsyncConnectionPool[AsyncConnection[DictRow]](
        url, min_size=POOL_MIN, max_size=POOL_MAX, kwargs=kwargs, open=False
    ) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        graph = _graph(workload.steps, saver)
        await _run(graph, workload.steps)  # warm-up: first queries, caches, pool
        latencies = [await _run(graph, workload.steps) for _ in range(workload.sequential)]
        start = time.perf_counter()
        await asyncio.gather(*(_run(graph, workload.steps) for _ in range(workload.concurrent)))
        wall = time.perf_counter() - start
        recorded = await _recorded_steps(pool)
    return Measurement(
        version=version("langgraph"),
        run_latencies_s=latencies,
        concurrent_wall_s=wall,
        recorded_steps=recorded,
        settings={
            "checkpointer": f"AsyncPostgresSaver {version('langgraph-checkpoint-postgres')}",
            "durability": "sync",
            "graph": f"{workload.steps} nodes in sequence, one no-op tool call each",
            "pool": {"min_size": POOL_MIN, "max_size": POOL_MAX},
            "concurrency": "asyncio.gather of ainvoke",
            "warm_up_runs": 1,
        },
    )


def measure(url: str, workload: Workload) -> Measurement:
    """Run the warm-up, the sequential and the concurrent runs on the database at ``url``."""
    return asyncio.run(_measure(url, workload))


if __name__ == "__main__":
    raise SystemExit(main("langgraph", measure))
