"""Kill any service with SIGKILL mid-run and restart it: every run still finishes,
no event is lost, and each side effect happens exactly once.

"Mid-run" is made sure of, not hoped for: the victim is frozen (SIGSTOP) once it
has committed work of its own, more goals are submitted, and it is killed only
when events it has not committed are waiting for it (and, for a service the runs
wait on, with runs still open)."""

import time
import uuid

import pytest

from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.kafka import Topic
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from testkit.kafka import backlog
from testkit.processes import SERVICES, scene, submit_refunds

RUNS = 6

PROJECTION = RunsRepository()


@pytest.mark.parametrize("victim", list(SERVICES))
def test_a_service_killed_mid_run_loses_nothing_and_repeats_nothing(
    victim, bootstrap_servers, pg_admin, tmp_path
):
    marker = f"crash-{victim}-{uuid.uuid4().hex[:6]}"
    with scene(bootstrap_servers, pg_admin, tmp_path, "crash") as here, ScriptedModel() as model:
        store, kafka = here.store, here.kafka
        # A call the killed executor left started is re-run once its timeout and this
        # grace have passed (30 s by default): the same path, sooner.
        processes = here.processes(
            model.base_url, overrides={"tool-executor": {"IN_FLIGHT_GRACE_S": "2"}}
        )
        processes.start_all()
        try:
            run_ids = submit_refunds(here, marker, range(RUNS // 2))
            _wait_for_progress(store, run_ids)
            group, topics = WORK[victim]
            name = f"{kafka.topic_prefix}-{victim}.{group}"
            _wait_for(lambda: _backlog(kafka, name, topics, waiting=False)[0] > 0)
            processes.pause(victim)  # frozen holding whatever it fetched
            run_ids += submit_refunds(here, marker, range(RUNS // 2, RUNS))
            _wait_for(lambda: _backlog(kafka, name, topics)[1] > 0)
            if victim in ON_THE_RUNS_PATH:
                assert _open_runs(store, run_ids), "every run ended before the kill"
            processes.kill(victim)
            processes.start(victim)
            outcomes = wait_for_outcomes(store, run_ids, timeout_s=120)
            _every_run_fully_archived(store, run_ids)
        finally:
            processes.stop_all()
        statuses = {r: outcomes[r].status if r in outcomes else None for r in run_ids}
        assert set(statuses.values()) == {RunStatus.COMPLETED}, (statuses, processes.log(victim))
        _one_refund_per_run(store, marker)


# The services a run waits for (approval and telemetry are off the path of these runs).
ON_THE_RUNS_PATH = {"planner", "policy-checker", "tool-executor"}
# Each service's main loop, and the topics it reads.
WORK = {
    "planner": ("runs", (Topic.GOALS, Topic.DECISIONS, Topic.APPROVALS, Topic.TOOL_RESULTS)),
    "policy-checker": ("decide", (Topic.TOOL_CALLS,)),
    "approval": ("decisions", (Topic.DECISIONS,)),
    "tool-executor": ("calls", (Topic.DECISIONS, Topic.APPROVALS)),
    "telemetry": ("archive", tuple(Topic)),
}


def _backlog(kafka, group, topics, *, waiting=True):
    """(records ``group`` committed, records waiting for it) over ``topics``."""
    counts = [backlog(kafka, group, topic, waiting=waiting) for topic in topics]
    return sum(c for c, _ in counts), sum(w for _, w in counts)


def _wait_for(condition, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _open_runs(store, run_ids):
    with store.transaction(read_only=True) as conn:
        runs = [PROJECTION.get(conn, r) for r in run_ids]
    return [r for r in runs if r is None or r.status == RunStatus.RUNNING]


def _wait_for_progress(store, run_ids):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with store.transaction(read_only=True) as conn:
            started = [r for r in run_ids if PROJECTION.get(conn, r) is not None]
        if started:
            return
        time.sleep(0.1)
    raise AssertionError("no run started")


def _one_refund_per_run(store, marker):
    ours = [r for r in SqlDesk(store).refunds() if r.reason == marker]
    assert len(ours) == RUNS, f"{len(ours)} refunds for {RUNS} runs"


def _every_run_fully_archived(store, run_ids):
    deadline = time.monotonic() + 60
    while True:
        with store.transaction(read_only=True) as conn:
            missing = [
                r
                for r in run_ids
                if not any(
                    a.event_type.endswith("RunCompleted") for a in store.archive.read_run(conn, r)
                )
            ]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not missing, f"runs whose completion never reached the archive: {missing}"
