"""The benchmark result as tables: ours, the floor, the ratios, the peers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} ms"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _peer_values(
    peers: dict[str, Any], path: tuple[str, ...], shown_as: Callable[[float | None], str]
) -> list[str]:
    shown = []
    for result in peers.values():
        value: Any = result
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        shown.append(shown_as(value if isinstance(value, int | float) else None))
    return shown


def _headline(result: dict[str, Any]) -> Table:
    ours, floor, ratios = result["agentdeck"], result["floor"], result["ratios"]
    peers = {k: v for k, v in result.get("peers", {}).items() if "version" in v}
    table = Table(title="agentdeck against its floor and its peers")
    for column in ("", "agentdeck", "floor (bare broker)", "ratio", *peers):
        table.add_column(column, justify="right" if column else "left")
    for label, key in (("per-step latency p50", "p50"), ("per-step latency p95", "p95")):
        table.add_row(
            label,
            _ms(ours["step_latency_ms"][key]),
            _ms(floor["step_latency_ms"][key]),
            f"{ours['step_latency_ms'][key] / floor['step_latency_ms'][key]:.2f}x",
            *_peer_values(peers, ("step_latency_ms", key), _ms),
        )
    table.add_row(
        "per-step overhead over the floor",
        _ms(ratios["step_overhead_ms"]),
        "",
        "",
        *[""] * len(peers),
    )
    table.add_row(
        "run latency p50 (10 steps)",
        _ms(ours["run_latency_ms"]["p50"]),
        _ms(floor["step_latency_ms"]["p50"] * 10),
        "",
        *_peer_values(peers, ("run_latency_ms", "p50"), _ms),
    )
    first = next(iter(ours["throughput"]))
    for count, measured in ours["throughput"].items():
        bare = floor["throughput"].get(count, {})
        none = ["-"] * len(peers)
        peer = _peer_values(peers, ("steps_per_s",), _rate) if count == first else none
        peer_runs = _peer_values(peers, ("runs_per_s",), _rate) if count == first else none
        table.add_row(
            f"runs/s, {count} at once",
            _rate(measured["runs_per_s"]),
            _rate(bare.get("runs_per_s")),
            "",
            *peer_runs,
        )
        ratio = ratios["steps_per_s_over_bare"].get(count)
        table.add_row(
            f"steps/s, {count} at once",
            _rate(measured["steps_per_s"]),
            _rate(bare.get("steps_per_s")),
            "-" if ratio is None else f"{ratio:.2f}x",
            *peer,
        )
    table.add_row(
        "durable insert + commit p50",
        "",
        _ms(floor["durable_insert_ms"]["p50"]),
        "",
        *[""] * len(peers),
    )
    return table


def _usage(result: dict[str, Any]) -> Table:
    ours = result["agentdeck"]
    first = next(iter(ours["throughput"]))
    table = Table(title=f"CPU and memory while {first} runs went through")
    for column in ("process", "CPU per step", "CPU", "peak RSS"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, usage in ours["usage"].items():
        table.add_row(
            name,
            f"{usage['cpu_us_per_step']:,.0f} us",
            f"{usage['cpu_s']:,.2f} s",
            f"{usage['peak_rss_mb']:,.0f} MB",
        )
    return table


def _scaling_and_overload(result: dict[str, Any]) -> Table:
    table = Table(title="Scaling (planner and executor replicas) and overload")
    table.add_column("")
    table.add_column("value", justify="right")
    for replicas, measured in result.get("scaling", {}).items():
        table.add_row(
            f"{replicas} replica(s): runs/s, steps/s",
            f"{measured['runs_per_s']:,.0f}, {measured['steps_per_s']:,.0f}",
        )
        shares = measured.get("cpu_s_by_process", {})
        if shares:
            table.add_row(
                f"{replicas} replicas: CPU s of each",
                ", ".join(f"{n} {s:.1f}" for n, s in shares.items() if "." in n or n in
                          ("planner", "tool-executor")),
            )  # fmt: skip
    over = result["agentdeck"].get("overload")
    if over:
        drained = over["drained_after_s"]
        table.add_row("overload: submitted at", f"{over['rate_runs_per_s']:,.0f} runs/s")
        table.add_row("overload: runs submitted / completed / failed",
                      f"{over['submitted']} / {over['completed']} / {over['failed']}")  # fmt: skip
        table.add_row("overload: peak consumer lag", f"{over['peak_lag']:,} records")
        table.add_row(
            "overload: lag drained", "no" if drained is None else f"{drained:.1f} s after"
        )
        table.add_row(
            "overload: run latency p50 / p95",
            f"{_ms(over['run_latency_ms']['p50'])} / {_ms(over['run_latency_ms']['p95'])}",
        )
        table.add_row("overload: lost or duplicated", "; ".join(over["problems"]) or "none")
        table.add_row("overload: dead letters", str(over["dead_letters"]))
    return table


def render(result: dict[str, Any], console: Console) -> None:
    """Print every table, then what was checked."""
    console.print(_headline(result))
    console.print(_usage(result))
    console.print(_scaling_and_overload(result))
    ours = result["agentdeck"]
    problems = ours["problems"]
    console.print(
        f"checked: {ours['ledger']['runs']} runs, {ours['ledger']['effects']} effects, "
        f"{ours['dead_letters']} dead letters; "
        + ("nothing lost or duplicated" if not problems else "PROBLEMS: " + "; ".join(problems))
    )
    for name, peer in result.get("peers", {}).items():
        if "version" not in peer:
            console.print(f"peer {name}: {peer.get('skipped') or peer.get('error')}")
    for name, ratio in result["ratios"].get("over_peers", {}).items():
        console.print(
            f"against {name}: per-step latency {ratio['step_latency']:.2f}x, "
            f"steps/s {ratio['steps_per_s']:.2f}x"
        )
