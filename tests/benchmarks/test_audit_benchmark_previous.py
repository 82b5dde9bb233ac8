"""The audit benchmark reports replay and verification against the previous figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_audit_benchmark_compares_both_figures_with_the_previous_ones(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_audit", ROOT / "benchmarks" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "numbers.json"

    numbers = bench.main(["--events", "300", "--in-flight", "3", "--json", str(out)])

    written = json.loads(out.read_text())
    assert written["previous"] == {
        "from": bench.PREVIOUS_FROM,
        "replay_events_per_s": bench.PREVIOUS_REPLAY_EVENTS_PER_S,
        "verify_events_per_s": bench.PREVIOUS_VERIFY_EVENTS_PER_S,
    }
    for name in ("replay", "verify"):
        ratio = numbers[f"{name}_events_per_s"] / written["previous"][f"{name}_events_per_s"]
        assert written[f"{name}_vs_previous"] == ratio
    printed = capsys.readouterr().out
    assert f"against the previous figures ({bench.PREVIOUS_FROM})" in printed
    assert printed.count("x  the previous") == 2
