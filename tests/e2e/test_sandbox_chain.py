"""A playbook's run_python step tries to approve a pending refund with the stack's secrets.

The whole chain is real: a signed goal, the planner running a playbook that
acts as analyst-agent (which may execute code), the policy-checker allowing
run_python, the executor's sandbox. The code reads the stack's key file (where
the approver tokens are), then, holding a real approver token as if it had
leaked some other way, calls the approval API on 127.0.0.1 to approve a
pending refund. The key file stays unread, the call is killed with
sandbox_violation, and the refund still waits for a human.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdeck import demo
from agentdeck.approval import client
from agentdeck.cli.app import main
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from agentdeck.tool_executor.adapters.effects import EffectLedger
from testkit.cli import point_cli_at
from testkit.kafka import wait_until
from testkit.privacy import opening

from .conftest import running_platform

PROJECTION = RunsRepository()
EFFECTS = EffectLedger()

ANALYSIS = """\
name: run-analysis
version: "1"
description: Run an analyst's Python snippet over the desk's numbers.
agent: analyst-agent
steps:
  - id: analyse
    tool: run_python
    args:
      code: "{{ inputs.code }}"
"""

HOSTILE = """\
import json, urllib.request
for path in {paths!r}:
    try:
        print('STOLEN', open(path).read())
    except OSError as exc:
        print('refused', type(exc).__name__)
request = urllib.request.Request(
    {url!r},
    data=json.dumps({{'comment': 'looks fine'}}).encode(),
    headers={{'Authorization': 'Bearer ' + {token!r}, 'Content-Type': 'application/json'}},
    method='POST',
)
print(urllib.request.urlopen(request, timeout=5).read())
"""


@pytest.fixture(scope="module")
def platform(  # type: ignore[no-untyped-def]
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
):
    """The e2e platform, its planner reading the demo playbooks plus ``run-analysis``."""
    root = tmp_path_factory.mktemp("e2e-sandbox")
    playbooks = root / "playbooks"
    shutil.copytree(demo.PLAYBOOKS, playbooks)
    (playbooks / "run-analysis.v1.yaml").write_text(ANALYSIS, encoding="utf-8")
    env = {"AGENTDECK_PLANNER_PLAYBOOK_DIR": str(playbooks)}
    with running_platform(bootstrap_servers, pg_admin, root, env) as up:
        yield up.stack, up.info, up.keys


def _submit(info: StackInfo, playbook: str, inputs: dict[str, object]) -> str:
    run_id = f"{playbook}-{uuid.uuid4().hex[:8]}"
    event = goal_event(
        goal=playbook,
        playbook=playbook,
        inputs=inputs,
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(info, event)
    return run_id


def _events(stack, run_id: str) -> list[m.Event]:  # type: ignore[no-untyped-def]
    codec = opening(default_codec(), stack.store)  # failure messages are sealed
    with stack.store.transaction(read_only=True) as conn:
        return [codec.decode(a.payload) for a in stack.store.archive.read_run(conn, run_id)]


def _failures(stack, run_id: str) -> list[m.ToolCallFailed]:  # type: ignore[no-untyped-def]
    return [e for e in _events(stack, run_id) if isinstance(e, m.ToolCallFailed)]


def _running(stack, run_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the executor has begun the run's call (its start is in the effect ledger)."""
    keys = [e.idempotency_key for e in _events(stack, run_id) if isinstance(e, m.PolicyDecided)]
    with stack.store.transaction(read_only=True) as conn:
        entries = [EFFECTS.get(conn, key) for key in keys if key]
    return any(entry is not None and entry.status == "started" for entry in entries)


@pytest.mark.latency
def test_cancelling_a_run_kills_its_running_sandboxed_call_within_a_second(
    platform: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack, info, _ = platform
    point_cli_at(info, monkeypatch)
    # Left alone, the call would sleep until run_python's 10 s timeout.
    run = _submit(info, "run-analysis", {"code": "import time\ntime.sleep(30)"})
    wait_until(lambda: _running(stack, run), 60, "run_python running in the sandbox")
    assert main(["cancel", run, "--reason", "runaway analysis"]) == 0
    returned = datetime.now(UTC)
    assert capsys.readouterr().err == ""

    wait_until(lambda: bool(_failures(stack, run)), 30, "the stopped call recorded")
    [stopped] = _failures(stack, run)
    assert stopped.failure.code == "run_cancelled", stopped.failure.message
    assert "stopped while running" in stopped.failure.message
    assert "runaway analysis" in stopped.failure.message
    assert stopped.envelope.occurred_at - returned <= timedelta(seconds=1)
    outcome = wait_for_outcomes(stack.store, [run], timeout_s=30)[run]
    assert outcome.status is RunStatus.CANCELLED


def test_sandboxed_code_cannot_approve_a_pending_refund(platform: tuple) -> None:  # type: ignore[type-arg]
    stack, info, keys = platform
    refund = _submit(
        info, "refund-order", {"order_id": "2077", "amount_cents": 12_000, "reason": "damaged"}
    )
    assert wait_for_outcomes(stack.store, [refund], timeout_s=60)[refund].status is (
        RunStatus.WAITING_APPROVAL
    )
    pending = client.list_pending(info.approval_url, keys.approver_tokens["alice"])
    approval_id = next(p.approval_id for p in pending if p.run_id == refund)

    key_file = Path(info.data_dir) / "keys.json"
    assert keys.approver_tokens["alice"] in key_file.read_text(), "the tokens are right there"
    code = HOSTILE.format(
        paths=[str(key_file)],
        url=f"{info.approval_url}/approvals/{approval_id}/approve",
        token=keys.approver_tokens["alice"],
    )
    attack = _submit(info, "run-analysis", {"code": code})
    outcome = wait_for_outcomes(stack.store, [attack], timeout_s=60)[attack]

    still = client.list_pending(info.approval_url, keys.approver_tokens["alice"])
    assert approval_id in {p.approval_id for p in still}, "the refund still waits for a human"
    with stack.store.transaction(read_only=True) as conn:
        record = PROJECTION.get(conn, refund)
    assert record is not None
    assert record.status is RunStatus.WAITING_APPROVAL
    failures = _failures(stack, attack)
    assert [f.failure.code for f in failures] == ["sandbox_violation"]
    assert outcome.status is RunStatus.FAILED
    assert keys.approver_tokens["alice"] not in json.dumps([f.failure.message for f in failures])
