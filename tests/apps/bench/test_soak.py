"""The chaos soak, short: services, connections, Redis and the whole stack killed while runs
flow, with cancellations, kill switches and approvals; nothing lost, nothing done twice."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from agentdeck.bench.soak import SoakConfig, SoakReport, _Soak, run_soak
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


def test_a_publish_retried_across_a_restart_goes_to_the_stack_as_it_is_now() -> None:
    """The whole stack may come back on another broker between two tries of one publish."""
    addresses: list[str] = []

    class _Stack:
        lock = threading.Lock()
        info = SimpleNamespace(bootstrap_servers="127.0.0.1:1")

    stack = _Stack()

    def publish(info: SimpleNamespace) -> None:
        addresses.append(info.bootstrap_servers)
        if len(addresses) == 1:
            stack.info = SimpleNamespace(bootstrap_servers="127.0.0.1:2")  # restarted meanwhile
            raise RuntimeError("the broker went away")

    _Soak._retrying(SimpleNamespace(stack=stack), publish)  # type: ignore[arg-type]

    assert addresses == ["127.0.0.1:1", "127.0.0.1:2"]


def test_a_service_that_ended_on_its_own_is_restarted_and_reported() -> None:
    started: list[tuple[str, int]] = []

    class _Processes:
        def __init__(self) -> None:
            self.running = {"planner": 0, "telemetry.1": 1}

        def exited(self) -> dict[str, int]:
            return dict(self.running)

        def log(self, name: str) -> str:
            return f"starting\n{name}: database unavailable\n"

        def forget(self, name: str) -> None:
            del self.running[name]

        def start(self, service: str, replica: int = 0) -> None:
            started.append((service, replica))

    soak = SimpleNamespace(stack=SimpleNamespace(processes=_Processes()), report=SoakReport())

    _Soak._supervise(soak)  # type: ignore[arg-type]
    _Soak._supervise(soak)  # type: ignore[arg-type]  # nothing ended since

    assert started == [("planner", 0), ("telemetry", 1)]
    assert soak.report.exits == [
        "planner exited (0): planner: database unavailable",
        "telemetry.1 exited (1): telemetry.1: database unavailable",
    ]
