"""The chaos soak, short: services, connections, Redis and the whole stack killed while runs
flow, with cancellations, kill switches and approvals; nothing lost, nothing done twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.bench.soak import SoakConfig, run_soak
from testkit.sql import PG_ADMIN_URL


@pytest.mark.timeout(420)
def test_a_short_soak_loses_no_run_and_repeats_no_effect(tmp_path: Path) -> None:
    config = SoakConfig(
        admin_url=PG_ADMIN_URL,
        runs=12,
        seconds=22,
        chaos_every_s=2.0,
        settle_s=150,
        logs=tmp_path,
    )
    report = run_soak(config, say=lambda _line: None)
    assert report.problems == [], report.as_json()
    assert report.runs == 12
    assert report.chaos["kill-everything"] == 1
    assert sum(report.chaos.values()) >= 7, report.chaos
    assert sum(report.statuses.values()) == 12
