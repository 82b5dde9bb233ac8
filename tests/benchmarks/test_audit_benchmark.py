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


def test_the_benchmark_runs_on_either_store_and_audits_a_postgresql_archive_at_rest(databases):
    engine = databases.new_engine()
    url = engine.url.render_as_string(hide_password=False)

    numbers = _benchmark().main(["--events", "200", "--in-flight", "2", "--database-url", url])

    assert numbers["store"] == databases.backend
    assert numbers["events"] >= 200
    if databases.backend == "postgresql":  # vacuumed and analyzed before it is read
        with engine.connect() as conn:
            done = conn.exec_driver_sql(
                "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
                "FROM pg_stat_user_tables WHERE relname = 'event_archive'"
            ).scalar_one()
        assert done
