"""`agentdeck drain`, `pause` and `resume` end to end: new goals wait, started runs finish.

Run A's refund blocks inside the desk (the system of record) while the
operator drains the support agent through the CLI: the drain does not return
while A runs; a goal submitted meanwhile waits (queued, never started); the
drain returns once A has ended; resuming starts the waiting goal, which
completes and replays like any run.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from agentdeck.cli.app import main
from agentdeck.cli.replay import load_run
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.pauses import PausedAdmission
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from testkit.cli import point_cli_at
from testkit.kafka import wait_until

from .conftest import Platform
from .gated import HOLD, Gated, gated_platform, run_events, submit_refund

AGENT = "support-agent"


@pytest.fixture(scope="module")
def drained(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gated]:
    with gated_platform(bootstrap_servers, pg_admin, tmp_path_factory.mktemp("drained")) as gated:
        yield gated


def _status(platform: Platform, run_id: str) -> RunStatus | None:
    with platform.stack.store.transaction(read_only=True) as conn:
        run = RunsRepository().get(conn, run_id)
    return None if run is None else run.status


def _paused(platform: Platform) -> bool:
    with platform.stack.store.transaction(read_only=True) as conn:
        return (m.AdmissionScope.AGENT, AGENT) in PausedAdmission.pauses(conn).by_key


def _of(platform: Platform, run_id: str, kind: type[m.Event]) -> list[m.Event]:
    return [e for e in run_events(platform, run_id) if isinstance(e, kind)]


def test_a_drain_waits_for_started_runs_while_new_goals_wait_until_resumed(
    drained: Gated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform, gate = drained.platform, drained.gate
    point_cli_at(platform.info, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    run_a = submit_refund(platform, f"drain-{tag}-a", order="1042", cents=1000, reason=HOLD)
    assert gate.entered.wait(60), "run A's refund holds the executor"
    codes: list[int] = []
    drain = threading.Thread(
        target=lambda: codes.append(main(["drain", "--agent", AGENT, "--timeout", "60"]))
    )
    try:
        drain.start()
        wait_until(lambda: _paused(platform), 10, "the planner applied the pause")
        run_b = submit_refund(platform, f"drain-{tag}-b", order="1042", cents=500, reason="later")
        wait_until(lambda: _status(platform, run_b) is RunStatus.QUEUED, 10, "B's goal waits")
        assert _of(platform, run_b, m.RunQueued), "RunQueued archived with B"
        assert drain.is_alive(), "the drain waits while run A is still running"
        assert _status(platform, run_a) is RunStatus.RUNNING
    finally:
        gate.opened.set()
    drain.join(60)
    assert codes == [0], capsys.readouterr().err
    assert _status(platform, run_a) is RunStatus.COMPLETED, "drained: A had ended"
    assert "drained agent support-agent" in capsys.readouterr().out

    # Drained, B still waits: it was held by the planner, not merely slow.
    assert _status(platform, run_b) is RunStatus.QUEUED
    assert not _of(platform, run_b, m.RunStarted)

    assert main(["resume", "--agent", AGENT]) == 0
    wait_until(lambda: _status(platform, run_b) is RunStatus.COMPLETED, 60, "B ran once resumed")
    [started] = _of(platform, run_b, m.RunStarted)
    assert (
        started.envelope.causation_id == _of(platform, run_b, m.RunQueued)[0].envelope.causation_id
    )
    replayed = replay_run(
        load_run(platform.stack.store, run_b, platform.codec()),
        playbooks=bundled_playbooks(),
        tools=tool_infos(demo_registry()),
    )
    assert replayed.divergence is None, replayed.divergence and replayed.divergence.describe()


def test_a_waiting_run_can_be_cancelled_and_never_starts(
    drained: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = drained.platform
    point_cli_at(platform.info, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    assert main(["pause", "--tenant", "acme", "--reason", "incident"]) == 0
    try:
        wait_until(lambda: _held_tenant(platform), 10, "the planner applied the tenant's pause")
        run = submit_refund(platform, f"pause-{tag}", order="1042", cents=300, reason="later")
        wait_until(lambda: _status(platform, run) is RunStatus.QUEUED, 10, "the goal waits")
        assert main(["cancel", run, "--reason", "not needed"]) == 0
        wait_until(lambda: _status(platform, run) is RunStatus.CANCELLED, 10, "cancelled")
    finally:
        assert main(["resume", "--tenant", "acme"]) == 0
    wait_until(lambda: not _held_tenant(platform), 10, "the tenant resumed")
    assert not _of(platform, run, m.RunStarted), "a cancelled waiting run never starts"
    replayed = replay_run(
        load_run(platform.stack.store, run, platform.codec()),
        playbooks=bundled_playbooks(),
        tools=tool_infos(demo_registry()),
    )
    assert replayed.divergence is None


def _held_tenant(platform: Platform) -> bool:
    with platform.stack.store.transaction(read_only=True) as conn:
        return (m.AdmissionScope.TENANT, "acme") in PausedAdmission.pauses(conn).by_key


def test_naming_no_scope_or_two_is_one_clear_line(
    drained: Gated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(drained.platform.info, monkeypatch)
    for argv in (["pause", "--reason", "x"], ["drain", "--tenant", "a", "--all"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err == "agentdeck: error: name one scope: --tenant T, --agent A or --all\n"
