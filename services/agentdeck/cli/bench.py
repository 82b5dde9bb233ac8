"""``agentdeck bench``: the platform against its floor and its peers, on this machine."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import confluent_kafka
import typer
from rich.console import Console
from sqlalchemy import create_engine, text

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.embedded import tansu_binary
from agentdeck.errors import ConfigError

__all__ = ["bench"]

console = Console()

_PACKAGES = ("agentdeck", "confluent-kafka", "fastavro", "sqlalchemy", "psycopg", "cedarpy")


def _ints(value: str, option: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{option} takes comma-separated whole numbers, not {value!r}") from None
    if not numbers or min(numbers) < 1:
        raise ConfigError(f"{option} needs at least one number, each 1 or more")
    return numbers


def _versions(embedded: bool) -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    if embedded:
        found["broker"] = Path(tansu_binary()).name
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    found["librdkafka"] = confluent_kafka.libversion()[0]
    return found


def _postgres_version(postgres_url: str) -> str:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def bench(
    *,
    sequential: Annotated[int, typer.Option(min=1, help="Runs one after another (latency).")] = 50,
    concurrent: Annotated[str, typer.Option(help="Runs submitted at once (throughput).")] = (
        "200,1000"
    ),
    replicas: Annotated[str, typer.Option(help="Planner and executor replicas to try.")] = "1,2,4",
    overload_seconds: Annotated[
        float, typer.Option(min=0, help="Submit at 2x the sustainable rate this long; 0 skips.")
    ] = 10,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of each data topic.")] = 6,
    peers: Annotated[bool, typer.Option(help="Run LangGraph and DBOS if installed.")] = True,
    postgres: Annotated[
        str, typer.Option(envvar="AGENTDECK_BENCH_POSTGRES", help="Server to create the db on.")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    redis: Annotated[str, typer.Option(envvar="AGENTDECK_BENCH_REDIS")] = (
        "redis://127.0.0.1:6379/0"
    ),
    kafka: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Empty: fresh embedded brokers.")
    ] = "",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result here.")] = None,
) -> None:
    """Measure latency, throughput, CPU and memory against the bare broker (and peers)."""
    from agentdeck.bench.harness import BenchConfig, run_bench  # noqa: PLC0415 -- heavy imports
    from agentdeck.bench.report import render  # noqa: PLC0415
    from agentdeck.bench.stack import fresh_database  # noqa: PLC0415
    from agentdeck.store import Store  # noqa: PLC0415

    replicas_ = _ints(replicas, "--replicas")
    if max(replicas_) > partitions:
        raise ConfigError(f"--replicas {max(replicas_)} needs --partitions {max(replicas_)}")
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        config = BenchConfig(
            postgres_url=postgres,
            redis_url=redis,
            data_dir=Path(tmp),
            bootstrap=kafka or None,
            sequential=sequential,
            concurrent=_ints(concurrent, "--concurrent"),
            replicas=replicas_,
            overload_s=overload_seconds,
            partitions=partitions,
            peers=peers,
        )
        versions = _versions(embedded=not kafka)
        try:
            versions["postgresql"] = _postgres_version(postgres)
        except Exception as exc:  # noqa: BLE001 -- any connection failure is a config problem
            reason = (str(getattr(exc, "orig", None) or exc).splitlines() or ["?"])[0]
            raise ConfigError(f"cannot reach PostgreSQL at {postgres}: {reason}") from None
        started = time.perf_counter()
        with fresh_database(postgres) as url:
            Store.open(
                url, data_dir=tmp, schemas=SERVICE_SCHEMAS
            ).close()  # migrate once, before the services start
            result: dict[str, Any] = run_bench(
                config, url, lambda line: console.print(f"[dim]{line}[/dim]")
            )
    result["meta"] = {
        "versions": versions,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "broker": kafka or "embedded Tansu, a fresh one per phase",
        "settings": {
            "steps_per_run": 10,
            "sequential": sequential,
            "concurrent": list(config.concurrent),
            "replicas": list(config.replicas),
            "overload_s": overload_seconds,
            "partitions": partitions,
        },
        "duration_s": time.perf_counter() - started,
    }
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    render(result, console)
    if json_out is not None:
        console.print(f"result written to {json_out}")
