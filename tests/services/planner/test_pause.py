"""Pausing new runs: goals in a paused scope wait (RunQueued) and start, unchanged, on resume."""

from __future__ import annotations

from datetime import timedelta

from agentdeck.contracts import Event, envelope_for
from agentdeck.contracts import models as m
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core.admission import ANY, Admitted, Grant
from agentdeck.planner.core.batch import Folded, fold_batch
from agentdeck.planner.core.pause import NONE, Pauses, Waiting
from agentdeck.planner.core.state import RunState
from agentdeck.planner.replay import ReplayResult, replay_run

from .test_cancel import cancel
from .test_core import ME, NOW, TOOLS, ctx, goal, types

AGENT = "support-agent"
ADMITTED = Admitted("crm", "crm-key", Grant(tenants=(ANY,), agents=(ANY,), playbooks=(ANY,)), "1")


def admission(
    scope: m.AdmissionScope, target: str, *, paused: bool = True, n: int = 1
) -> m.AdmissionSet:
    return m.AdmissionSet(
        envelope=envelope_for(
            m.AdmissionSet,
            event_id=f"admission-{scope}-{target}-{paused}-{n}",
            tenant="acme",
            producer=ME,
            occurred_at=NOW + timedelta(seconds=n),
        ),
        scope=scope,
        target=target,
        paused=paused,
        set_by="oncall",
        reason="deploy",
    )


def of_tenant(event: m.GoalSubmitted, tenant: str) -> m.GoalSubmitted:
    env = event.envelope.model_copy(
        update={"tenant": tenant, "event_id": f"{event.envelope.event_id}-{tenant}"}
    )
    return event.model_copy(update={"envelope": env})


class Planner:
    """Folds batches as the handler does, keeping the states, pauses and waiting goals."""

    def __init__(self) -> None:
        self.states: dict[str, RunState] = {}
        self.pauses: Pauses = NONE
        self.waiting: dict[str, Waiting] = {}
        self.published: list[Event] = []

    def batch(self, *events: Event) -> Folded:
        admissions = [ADMITTED if isinstance(e, m.GoalSubmitted) else None for e in events]
        folded = fold_batch(
            list(events), admissions, self.states, ctx(), pauses=self.pauses, waiting=self.waiting
        )
        for key, pause in folded.pauses.items():
            by_key = dict(self.pauses.by_key)
            by_key.pop(key, None)
            if pause is not None:
                by_key[key] = pause
            self.pauses = Pauses(by_key)
        self.published += folded.outputs
        return folded


def test_a_goal_in_a_paused_agent_waits_and_starts_when_the_agent_is_resumed():
    planner, refund = Planner(), goal(2000)
    paused = planner.batch(admission(m.AdmissionScope.AGENT, AGENT), refund)
    assert types(paused.outputs) == ["RunQueued"]
    [queued] = paused.outputs
    assert isinstance(queued, m.RunQueued)
    assert (queued.scope, queued.target, queued.paused_by) == (
        m.AdmissionScope.AGENT,
        AGENT,
        "oncall",
    )
    assert queued.envelope.causation_id == refund.envelope.event_id
    assert queued.envelope.agent == AGENT
    assert set(paused.held) == {"run-2000"}
    assert paused.changed == {}
    assert refund.envelope.event_id in paused.done, "a waiting goal is processed: it is kept"

    resumed = planner.batch(admission(m.AdmissionScope.AGENT, AGENT, paused=False, n=2))
    assert types(resumed.outputs)[:2] == ["RunStarted", "PlanProposed"]
    assert all(e.envelope.run_id == "run-2000" for e in resumed.outputs)
    assert resumed.outputs[0].envelope.causation_id == refund.envelope.event_id
    assert resumed.released == {"run-2000"}
    assert set(resumed.changed) == {"run-2000"}
    assert planner.waiting == {}


def test_a_started_run_is_the_run_the_goal_would_have_started_on_arrival():
    waited, direct = Planner(), Planner()
    waited.batch(admission(m.AdmissionScope.GLOBAL, "*"), goal(2000))
    resumed = waited.batch(admission(m.AdmissionScope.GLOBAL, "*", paused=False, n=2))
    started = direct.batch(goal(2000))
    assert [e.envelope.event_id for e in resumed.outputs] == [
        e.envelope.event_id for e in started.outputs
    ]
    assert [type(e) for e in resumed.outputs] == [type(e) for e in started.outputs]


def test_a_tenant_pause_holds_that_tenant_only():
    planner = Planner()
    held, other = goal(2000), of_tenant(goal(3000), "globex")
    folded = planner.batch(admission(m.AdmissionScope.TENANT, "acme"), held, other)
    assert set(folded.held) == {"run-2000"}
    assert "RunStarted" in types([e for e in folded.outputs if e.envelope.run_id == "run-3000"])


def test_a_goal_stays_waiting_while_a_broader_pause_still_holds_it():
    planner = Planner()
    planner.batch(
        admission(m.AdmissionScope.GLOBAL, "*"), admission(m.AdmissionScope.AGENT, AGENT), goal()
    )
    still = planner.batch(admission(m.AdmissionScope.AGENT, AGENT, paused=False, n=3))
    assert still.outputs == []
    assert still.released == set()
    assert set(planner.waiting) == {"run-2000"}
    gone = planner.batch(admission(m.AdmissionScope.GLOBAL, "*", paused=False, n=4))
    assert "RunStarted" in types(gone.outputs)


def test_pausing_does_not_touch_runs_already_started():
    planner = Planner()
    planner.batch(goal(2000))
    run = planner.states["run-2000"]
    folded = planner.batch(admission(m.AdmissionScope.GLOBAL, "*"))
    assert folded.outputs == []
    assert planner.states["run-2000"] is run


def test_waiting_goals_start_oldest_first():
    planner = Planner()
    planner.batch(admission(m.AdmissionScope.GLOBAL, "*"))
    first, second = goal(2000), goal(3000)
    planner.waiting["run-3000"] = Waiting(second, ADMITTED, AGENT, NOW)
    planner.waiting["run-2000"] = Waiting(first, ADMITTED, AGENT, NOW - timedelta(seconds=1))
    folded = planner.batch(admission(m.AdmissionScope.GLOBAL, "*", paused=False, n=2))
    started = [e.envelope.run_id for e in folded.outputs if isinstance(e, m.RunStarted)]
    assert started == ["run-2000", "run-3000"]


def test_a_waiting_run_cancelled_by_its_switch_ends_cancelled_and_never_starts():
    planner = Planner()
    planner.batch(admission(m.AdmissionScope.GLOBAL, "*"), goal(2000))
    ended = planner.batch(cancel("run-2000"))
    assert types(ended.outputs) == ["RunCancelled"]
    assert ended.outputs[0].envelope.run_id == "run-2000"
    assert ended.released == {"run-2000"}
    resumed = planner.batch(admission(m.AdmissionScope.GLOBAL, "*", paused=False, n=2))
    assert resumed.outputs == [], "a cancelled run does not start on resume"


def _replayed(events: list[Event]) -> ReplayResult:
    return replay_run(events, playbooks=bundled_playbooks(), tools=TOOLS)


def test_a_run_that_waited_replays_clean_started_waiting_or_cancelled():
    for last in ("resume", "none", "cancel"):
        planner = Planner()
        refund = goal(2000)
        planner.batch(admission(m.AdmissionScope.AGENT, AGENT), refund)
        if last == "resume":
            planner.batch(admission(m.AdmissionScope.AGENT, AGENT, paused=False, n=2))
        elif last == "cancel":
            planner.batch(switch := cancel("run-2000", n=2))
        inputs: list[Event] = [refund] + ([switch] if last == "cancel" else [])
        result = _replayed(inputs + planner.published)
        assert result.divergence is None, (last, result.divergence)


def test_replay_finds_a_start_recorded_for_a_goal_that_was_held_and_never_resumed():
    planner = Planner()
    refund = goal(2000)
    planner.batch(admission(m.AdmissionScope.AGENT, AGENT), refund)
    started = Planner().batch(goal(2000)).outputs
    queued = planner.published[0]
    result = _replayed([refund, queued, *started])
    assert result.divergence is None, "held, then resumed: the record shows both"
    # A recorded start the goal could not have made is found.
    other = [
        e.model_copy(update={"envelope": e.envelope.model_copy(update={"agent": "x"})})
        for e in started
    ]
    assert _replayed([refund, queued, *other]).divergence is not None


def test_a_goal_found_waiting_under_no_pause_starts_with_the_next_batch():
    planner = Planner()
    planner.waiting["run-2000"] = Waiting(goal(2000), ADMITTED, AGENT, NOW)
    folded = planner.batch()
    assert "RunStarted" in types(folded.outputs)
    assert folded.released == {"run-2000"}
