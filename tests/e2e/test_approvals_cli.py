"""``agentdeck approvals``, ``approve`` and ``deny``: the approver's side through the real CLI."""

import time
import uuid

from agentdeck.cli.app import main
from agentdeck.cli.demo import output_of, wait_for_outcomes
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts.models import RunLimits
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.telemetry.core.runs import RunStatus


def _parked(platform, tag):
    """A refund above what is approved without a human, waiting for one."""
    run_id = f"cli-{tag}-{uuid.uuid4().hex[:8]}"
    event = goal_event(
        goal="Refund $200.00 on order 3001",
        playbook="refund-order",
        inputs={"order_id": "3001", "amount_cents": 20_000, "reason": f"cli {tag}"},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=RunLimits(),
    )
    publish_goal(platform.info, event)
    return run_id


def _pending_ids(capsys, run_ids, deadline_s=60):
    """The approval ids the CLI lists for ``run_ids``, once it lists one for each."""
    deadline = time.monotonic() + deadline_s
    while True:
        assert main(["approvals", "--as", "alice"]) == 0
        listed = capsys.readouterr().out
        found = {}
        for line in listed.splitlines():
            for run_id in run_ids:
                if f"run {run_id} " in line:
                    found[run_id] = line.split()[0]
        if len(found) == len(run_ids) or time.monotonic() > deadline:
            return found, listed
        time.sleep(0.3)


def test_an_approver_lists_approves_and_denies_through_the_cli(cli_env, monkeypatch, capsys):
    monkeypatch.setenv("AGENTDECK_CLI_APPROVAL_URL", cli_env.info.approval_url)
    granted, denied = _parked(cli_env, "grant"), _parked(cli_env, "deny")
    store = cli_env.stack.store
    waiting = wait_for_outcomes(store, [granted, denied], timeout_s=60)
    assert {r.status for r in waiting.values()} == {RunStatus.WAITING_APPROVAL}
    ids, listed = _pending_ids(capsys, [granted, denied])
    assert set(ids) == {granted, denied}, listed
    assert "create_refund" in listed

    assert main(["approve", ids[granted], "--comment", "damaged, refund it", "--as", "alice"]) == 0
    assert f"{ids[granted]}: approved by alice" in capsys.readouterr().out
    assert main(["deny", ids[denied], "--comment", "no", "--as", "alice"]) == 0
    assert f"{ids[denied]}: denied by alice" in capsys.readouterr().out

    deadline = time.monotonic() + 60
    while True:
        done = wait_for_outcomes(store, [granted, denied], timeout_s=5)
        if {r.status for r in done.values()} == {
            RunStatus.COMPLETED
        } or time.monotonic() > deadline:
            break
    assert {r.status for r in done.values()} == {RunStatus.COMPLETED}
    codec = cli_env.codec()
    assert output_of(store, codec=codec, run_id=granted)["refund_id"]
    refused = output_of(store, codec=codec, run_id=denied)
    assert (refused["refund_id"], refused["handed_over"]) == (None, True)

    # Deciding again, or as someone the approval is not for, is one clear line.
    assert main(["approve", ids[granted], "--as", "alice"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert main(["approve", ids[denied], "--as", "nobody"]) == 1
    assert "no token for 'nobody'" in capsys.readouterr().err
