"""The benchmark's phases: floor, latency, throughput, usage, overload, scaling, peers.

Every phase measures on a fresh broker (see :mod:`agentdeck.bench.stack`).
The result is one JSON-ready dict; :mod:`agentdeck.bench.report` prints it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

from agentdeck.bench import checks
from agentdeck.bench.floor import HOPS, BarePipeline, durable_insert
from agentdeck.bench.lag import LagProbe
from agentdeck.bench.stack import BenchStack, kafka_for_phase
from agentdeck.bench.stats import percentiles
from agentdeck.bench.usage import Usage, pids_named, usage_of
from agentdeck.bench.workload import Driver, Finished
from agentdeck.contracts import default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import ToolCallRequested
from agentdeck.embedded_stack.identities import producer_signer
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.settings import KafkaSettings

__all__ = ["STEPS", "BenchConfig", "run_bench"]

STEPS = 10
"""Steps of the bench playbook's run."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    """How much to measure, and where."""

    postgres_url: str
    redis_url: str
    data_dir: Path
    bootstrap: str | None = None
    sequential: int = 50
    concurrent: tuple[int, ...] = (200, 1000)
    replicas: tuple[int, ...] = (1, 2, 4)
    overload_s: float = 10.0
    partitions: int = 6
    peers: bool = True
    run_timeout_s: float = 300.0


def _snapshot(pids: dict[str, list[int]]) -> dict[str, dict[int, Usage]]:
    return {
        name: {pid: u for pid in group if (u := usage_of(pid)) is not None}
        for name, group in pids.items()
    }


def _usage_delta(
    before: dict[str, dict[int, Usage]], after: dict[str, dict[int, Usage]], steps: int
) -> dict[str, dict[str, float]]:
    result = {}
    for name, now in after.items():
        then = before.get(name, {})
        cpu = sum(u.cpu_s - (then[pid].cpu_s if pid in then else 0.0) for pid, u in now.items())
        peak = max((u.peak_rss_mb for u in now.values()), default=0.0)
        result[name] = {
            "cpu_s": cpu,
            "cpu_us_per_step": cpu / steps * 1e6,
            "peak_rss_mb": peak,
        }
    return result


def _throughput(finished: dict[str, Finished], wall_s: float) -> dict[str, Any]:
    runs = len(finished)
    return {
        "runs": runs,
        "wall_s": wall_s,
        "runs_per_s": runs / wall_s,
        "steps_per_s": runs * STEPS / wall_s,
        "run_latency_ms": percentiles([f.latency_s for f in finished.values()]),
        "failed": sum(f.status != "completed" for f in finished.values()),
    }


def measure_floor(config: BenchConfig, engine: Engine, say: Progress) -> dict[str, Any]:
    """The bare three-hop pipeline (latency and throughput) and a durable insert."""
    codec = default_codec()
    payload = example_message(codec.registry.latest(ToolCallRequested.EVENT_TYPE))
    with kafka_for_phase(config.bootstrap, config.partitions, config.data_dir) as (kafka, _pid):
        say("floor: bare three-hop pipeline")
        pipeline = BarePipeline(kafka, STEPS, payload)
        try:
            pipeline.runs(1, timeout_s=90)
            latencies = [pipeline.runs(1, 30)[0] for _ in range(config.sequential)]
            bare: dict[str, Any] = {}
            for count in config.concurrent:
                start = time.perf_counter()
                pipeline.runs(count, config.run_timeout_s)
                wall = time.perf_counter() - start
                bare[str(count)] = {"runs_per_s": count / wall, "steps_per_s": count * STEPS / wall}
        finally:
            pipeline.close()
    say("floor: durable insert + commit")
    return {
        "hops_per_step": HOPS,
        "payload_bytes": len(payload),
        "step_latency_ms": percentiles([s / STEPS for s in latencies]),
        "throughput": bare,
        "durable_insert_ms": durable_insert(engine),
    }


@contextmanager
def _phase(
    config: BenchConfig, database_url: str, replicas: dict[str, int], tag: str, say: Progress
) -> Iterator[tuple[BenchStack, Driver, int | None]]:
    with kafka_for_phase(config.bootstrap, config.partitions, config.data_dir) as (kafka, pid):
        stack = BenchStack(kafka, database_url, config.redis_url, config.data_dir, replicas)
        driver = Driver(kafka, tag=tag, signer=producer_signer(load_or_create(config.data_dir)))
        try:
            say(f"{tag}: services starting ({_replica_text(replicas)})")
            _warm_up(stack, driver)
            yield stack, driver, pid
        finally:
            driver.close()
            stack.stop()


def _replica_text(replicas: dict[str, int]) -> str:
    shown = [f"{n} x{r}" for n, r in replicas.items() if r != 1]
    return ", ".join(shown) or "one of each"


def _warm_up(stack: BenchStack, driver: Driver, timeout_s: float = 120.0) -> None:
    """Until a first run completes: processes started, groups joined, caches warm."""
    runs = driver.submit(3)
    deadline = time.monotonic() + timeout_s
    while True:
        stack.check_alive()
        try:
            driver.wait(runs, 2.0)
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
        else:
            return


def _lag_sampler(probe: LagProbe, samples: list[tuple[float, int]], stop: threading.Event,
                 start: float) -> None:  # fmt: skip
    while not stop.is_set():
        samples.append((time.perf_counter() - start, sum(probe.lags().values())))
        stop.wait(0.25)


def measure_overload(
    config: BenchConfig, kafka: KafkaSettings, driver: Driver, engine: Engine, *, rate: float,
    tag: str,
) -> dict[str, Any]:  # fmt: skip
    """Submit at ``rate`` runs/s for ``overload_s`` s; lag, drain time, latency and losses."""
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    probe = LagProbe(kafka)
    probe.settle()
    start = time.perf_counter()
    sampler = threading.Thread(target=_lag_sampler, args=(probe, samples, stop, start))
    sampler.start()
    runs: list[str] = []
    tick = 0.1
    try:
        while (elapsed := time.perf_counter() - start) < config.overload_s:
            due = int(rate * (elapsed + tick)) - len(runs)
            if due > 0:
                runs += driver.submit(due, tag=tag)
            time.sleep(max(0.0, start + elapsed + tick - time.perf_counter()))
        submitted_s = time.perf_counter() - start
        finished = driver.wait(runs, config.run_timeout_s)
        archived_s = checks.wait_archived(engine, tag, len(runs), config.run_timeout_s)
        drained = time.perf_counter()
        while samples and samples[-1][1] > 0 and time.perf_counter() - drained < 60:
            time.sleep(0.25)
    finally:
        stop.set()
        sampler.join()
        probe.close()
    ledger = checks.ledger_of(engine, tag)
    peak_at, peak = max(samples, key=lambda s: s[1], default=(0.0, 0))
    zero = next((t for t, lag in samples if t > submitted_s and lag == 0), None)
    return {
        "rate_runs_per_s": rate,
        "seconds": config.overload_s,
        "submitted": len(runs),
        "completed": sum(f.status == "completed" for f in finished.values()),
        "failed": sum(f.status != "completed" for f in finished.values()),
        "run_latency_ms": percentiles([f.latency_s for f in finished.values()]),
        "peak_lag": peak,
        "peak_lag_at_s": peak_at,
        "drained_after_s": (zero - submitted_s) if zero is not None else None,
        "archived_after_s": archived_s,
        "final_lag": samples[-1][1] if samples else None,
        "lag_samples": [[round(t, 2), lag] for t, lag in samples],
        "ledger": ledger.as_dict(),
        "problems": ledger.problems(len(runs), STEPS),
    }


def _service_pids(stack: BenchStack, broker_pid: int | None) -> dict[str, list[int]]:
    pids: dict[str, list[int]] = {}
    for name, pid in stack.processes.pids().items():
        pids.setdefault(name.split(".")[0], []).append(pid)
    if broker_pid is not None:
        pids["broker"] = [broker_pid]
    pids["postgresql"] = pids_named("postgres")
    pids["redis"] = pids_named("redis-server")
    return pids


def measure_platform(
    config: BenchConfig, database_url: str, engine: Engine, say: Progress
) -> dict[str, Any]:
    """Latency, throughput, usage and overload with one replica of each service.

    The first concurrency runs beside the latency runs; each further one gets a
    phase (and a fresh broker) of its own, so none pays for the log before it.
    """
    tag = "main"
    first = config.concurrent[0]
    with _phase(config, database_url, {}, tag, say) as (stack, driver, broker_pid):
        say(f"latency: {config.sequential} sequential runs")
        sequential = [next(iter(driver.run(1, 60)[0].values())) for _ in range(config.sequential)]
        say(f"throughput: {first} runs at once")
        pids = _service_pids(stack, broker_pid)
        before = _snapshot(pids)
        finished, wall = driver.run(first, config.run_timeout_s)
        usage = _usage_delta(before, _snapshot(pids), first * STEPS)
        throughput: dict[str, Any] = {str(first): _throughput(finished, wall)}
        submitted = 3 + config.sequential + first
        archived_s = checks.wait_archived(engine, tag, submitted, config.run_timeout_s)
        ledger = checks.ledger_of(engine, tag)
        result: dict[str, Any] = {
            "run_latency_ms": percentiles([f.latency_s for f in sequential]),
            "step_latency_ms": percentiles([f.latency_s / STEPS for f in sequential]),
            "throughput": throughput,
            "archive_caught_up_after_s": archived_s,
            "usage": usage,
            "ledger": ledger.as_dict(),
            "problems": ledger.problems(submitted, STEPS),
            "terminal_events": driver.terminal_events(),
            "dead_letters": checks.dead_letters(stack.kafka),
        }
        if config.overload_s > 0:
            rate = 2 * throughput[str(config.concurrent[0])]["runs_per_s"]
            say(f"overload: {rate:.0f} runs/s (2x sustainable) for {config.overload_s:.0f} s")
            result["overload"] = measure_overload(
                config, stack.kafka, driver, engine, rate=rate, tag="over"
            )
            result["overload"]["dead_letters"] = checks.dead_letters(stack.kafka)
    for count in config.concurrent[1:]:
        more, problems = measure_concurrency(config, database_url, engine, count, say)
        throughput[str(count)] = more
        result["problems"] += [f"{count} at once: {p}" for p in problems]
    return result


def measure_concurrency(
    config: BenchConfig, database_url: str, engine: Engine, count: int, say: Progress
) -> tuple[dict[str, Any], list[str]]:
    """Throughput of ``count`` runs at once on a fresh phase, and what it lost or duplicated."""
    tag = f"c{count}"
    with _phase(config, database_url, {}, tag, say) as (_stack, driver, _pid):
        say(f"throughput: {count} runs at once")
        finished, wall = driver.run(count, config.run_timeout_s)
        checks.wait_archived(engine, tag, 3 + count, config.run_timeout_s)
    return _throughput(finished, wall), checks.ledger_of(engine, tag).problems(3 + count, STEPS)


def measure_scaling(
    config: BenchConfig, database_url: str, replicas: int, say: Progress
) -> dict[str, Any]:
    """Throughput of the first concurrency with ``replicas`` planners and executors."""
    tag = f"x{replicas}"
    count = config.concurrent[0]
    with _phase(
        config, database_url, {"planner": replicas, "tool-executor": replicas}, tag, say
    ) as (stack, driver, _pid):
        say(f"scaling: {count} runs at once, {replicas} planners and executors")
        pids = {name: [pid] for name, pid in stack.processes.pids().items()}
        before = _snapshot(pids)
        finished, wall = driver.run(count, config.run_timeout_s)
        used = _usage_delta(before, _snapshot(pids), count * STEPS)
    result = _throughput(finished, wall)
    # Every replica's share of the work: the consumer group spread the partitions over them.
    result["cpu_s_by_process"] = {name: round(u["cpu_s"], 2) for name, u in used.items()}
    return result


def measure_peers(config: BenchConfig, say: Progress) -> dict[str, Any]:
    """The same workload on each installed peer; why a peer is missing otherwise."""
    from agentdeck.bench import peers as peer_workloads  # noqa: PLC0415 -- optional extra

    results: dict[str, Any] = {}
    for name in peer_workloads.PEERS:
        if not peer_workloads.installed(name):
            results[name] = {"skipped": "not installed (pip install 'agentdeck[peers]')"}
            continue
        say(f"peer: {name}")
        try:
            results[name] = peer_workloads.run_peer(
                name,
                database_url=config.postgres_url,
                steps=STEPS,
                sequential=config.sequential,
                concurrent=config.concurrent[0],
                timeout_s=config.run_timeout_s,
            )
        except Exception as exc:  # noqa: BLE001 -- a peer's failure is reported, not fatal
            results[name] = {"error": str(exc)[-500:]}
    return results


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Ours over the floor: per-step latency (lower is better) and steps/s (higher is better)."""
    ours, floor = result["agentdeck"], result["floor"]
    out: dict[str, Any] = {
        "step_overhead_ms": ours["step_latency_ms"]["p50"] - floor["step_latency_ms"]["p50"],
        "step_latency_over_floor": ours["step_latency_ms"]["p50"] / floor["step_latency_ms"]["p50"],
        "steps_per_s_over_bare": {
            count: ours["throughput"][count]["steps_per_s"] / bare["steps_per_s"]
            for count, bare in floor["throughput"].items()
            if count in ours["throughput"]
        },
    }
    first = next(iter(ours["throughput"]))
    out["over_peers"] = {
        name: {
            "step_latency": ours["step_latency_ms"]["p50"] / peer["step_latency_ms"]["p50"],
            "steps_per_s": ours["throughput"][first]["steps_per_s"] / peer["steps_per_s"],
        }
        for name, peer in result.get("peers", {}).items()
        if "steps_per_s" in peer
    }
    return out


def run_bench(config: BenchConfig, database_url: str, say: Progress) -> dict[str, Any]:
    """Every phase on ``database_url`` (a fresh, migrated database)."""
    engine = create_engine(database_url)
    try:
        result: dict[str, Any] = {"floor": measure_floor(config, engine, say)}
        result["agentdeck"] = measure_platform(config, database_url, engine, say)
        first = str(config.concurrent[0])
        scaling = {}
        for replicas in config.replicas:
            if replicas == 1:
                scaling["1"] = result["agentdeck"]["throughput"][first]
            else:
                scaling[str(replicas)] = measure_scaling(config, database_url, replicas, say)
        result["scaling"] = scaling
        if config.peers:
            result["peers"] = measure_peers(config, say)
        result["ratios"] = ratios(result)
    finally:
        engine.dispose()
    return result
