"""``agentdeck bench`` in a tiny configuration, so the command cannot rot (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.cli.app import main

SERVICES = {"planner", "policy-checker", "approval", "tool-executor", "telemetry"}


@pytest.mark.timeout(600)
def test_tiny_bench_measures_every_phase_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--sequential", "2", "--concurrent", "4,3", "--replicas", "1,2"]
    argv += ["--overload-seconds", "1", "--partitions", "2", "--no-peers", "--json", str(out)]

    assert main(argv) == 0

    result = json.loads(out.read_text())
    ours, floor = result["agentdeck"], result["floor"]
    assert ours["problems"] == []
    assert ours["ledger"]["runs"] == 3 + 2 + 4  # warm-up, sequential, concurrent
    assert ours["ledger"]["effects_completed"] == 10 * ours["ledger"]["runs"]
    assert ours["dead_letters"] == 0
    assert ours["terminal_events"] == ours["ledger"]["runs"]
    assert ours["throughput"]["4"]["runs"] == 4
    assert ours["throughput"]["4"]["failed"] == 0
    assert ours["throughput"]["3"]["runs"] == 3  # on a phase of its own
    assert set(ours["usage"]) >= SERVICES
    assert all(u["cpu_s"] > 0 and u["peak_rss_mb"] > 0 for n, u in ours["usage"].items()
               if n in SERVICES - {"approval"})  # fmt: skip
    assert floor["hops_per_step"] == 3
    assert floor["step_latency_ms"]["p50"] > 0
    assert floor["durable_insert_ms"]["p50"] > 0
    assert result["ratios"]["step_latency_over_floor"] > 0
    assert set(result["scaling"]) == {"1", "2"}
    assert result["scaling"]["2"]["runs"] == 4
    replicas = set(result["scaling"]["2"]["cpu_s_by_process"])
    assert {"planner", "planner.1", "tool-executor", "tool-executor.1"} <= replicas
    overload = ours["overload"]
    assert overload["submitted"] >= 1
    assert overload["completed"] == overload["submitted"]
    assert overload["problems"] == []
    assert overload["final_lag"] == 0
    assert result["meta"]["versions"]["postgresql"]
    shown = capsys.readouterr().out
    assert "per-step latency p50" in shown
    assert "nothing lost or duplicated" in shown


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "--concurrent", "many"], "--concurrent takes comma-separated whole numbers"),
        (["bench", "--replicas", "8", "--partitions", "4"], "--replicas 8 needs --partitions 8"),
        (["bench", "--concurrent", "0"], "--concurrent needs at least one number"),
        (
            ["bench", "--postgres", "postgresql://postgres@127.0.0.1:1/none"],
            "cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/none",
        ),
    ],
)
def test_bad_arguments_get_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
