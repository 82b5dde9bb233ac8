"""The audit benchmark runs end to end on a tiny archive, so it cannot rot (no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("bench_audit", ROOT / "benchmarks" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_audit_benchmark_generates_replays_and_verifies_a_small_archive(tmp_path, capsys):
    out = tmp_path / "numbers.json"

    numbers = _benchmark().main(["--events", "400", "--in-flight", "3", "--json", str(out)])

    assert numbers["events"] >= 400
    assert numbers["runs"] >= 5
    assert numbers["store"] == "sqlite"
    assert numbers["checkpoints"] >= 1
    assert json.loads(out.read_text()) == numbers
    printed = capsys.readouterr().out
    for line in ("replay (decode+fold)", "verify (audit)", "events/s"):
        assert line in printed


def test_a_generated_run_has_ten_steps_each_decided_called_and_settled():
    bench = _benchmark()
    from agentdeck.contracts import models as m
    from agentdeck.signing import Signer, generate_private_key

    start = bench.datetime(2026, 1, 1, tzinfo=bench.UTC)
    signer = Signer("policy-1", generate_private_key())
    events = [e for batch in bench.run_events("bench-x", start, signer) for e in batch]

    kinds = [type(e) for e in events]
    for kind in (m.ToolCallRequested, m.PolicyDecided, m.ToolCallCompleted):
        assert kinds.count(kind) == bench.STEPS, kind
    retired = (m.StepScheduled, m.BudgetReserved, m.ToolCallStarted, m.BudgetSettled)
    assert not [k for k in kinds if k in retired], "the event model v3: three events a step"
    assert kinds[-1] is m.RunCompleted


def test_make_bench_audit_runs_the_audit_benchmark():
    dry = subprocess.run(
        ["make", "-n", "bench-audit"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert dry.returncode == 0, dry.stderr
    assert "benchmarks/audit.py" in dry.stdout
