"""The runs projection folded from events: any order across topics, final totals win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentdeck.contracts import Event, default_codec, envelope_for
from agentdeck.contracts import models as m
from agentdeck.contracts.examples import example_datum
from agentdeck.telemetry.core.runs import RunRecord, RunStatus, fold_runs

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RUN = "run-1"
GOAL_ID = "goal-1"
CODEC = default_codec()


def event(kind: type[Event], n: int, *, run_id: str | None = RUN, **fields: Any) -> Event:
    """A valid ``kind`` event of the run, ``n`` seconds after T0, with ``fields`` set."""
    datum = example_datum(CODEC.registry.latest(kind.EVENT_TYPE))
    envelope = envelope_for(
        kind,
        event_id=f"{kind.__name__}-{n}",
        tenant="acme",
        producer=m.Producer(service="test", version="1"),
        occurred_at=T0 + timedelta(seconds=n),
        run_id=run_id,
        agent="support-agent",
        causation_id=fields.pop("causation_id", None),
    )
    datum.pop("envelope")
    return kind.model_validate({**datum, **fields, "envelope": envelope})


def goal(n: int = 0) -> Event:
    made = event(m.GoalSubmitted, n, goal="refund order 42")
    return made.model_copy(
        update={"envelope": made.envelope.model_copy(update={"event_id": GOAL_ID})}
    )


def start(n: int = 1) -> Event:
    return event(
        m.RunStarted,
        n,
        causation_id=GOAL_ID,
        planner=m.PlannerKind.PLAYBOOK,
        playbook="refund-order",
        pinned_version="3",
    )


def request(n: int, attempt: int = 1) -> Event:
    return event(m.ToolCallRequested, n, attempt=attempt)


def fold(events: list[Event], known: dict[str, RunRecord] | None = None) -> RunRecord:
    return fold_runs(known or {}, events, {})[RUN]


def test_a_started_run_takes_its_goal_agent_and_playbook_from_the_events() -> None:
    run = fold([goal(), start()])
    assert (run.status, run.goal, run.goal_event_id) == (
        RunStatus.RUNNING,
        "refund order 42",
        GOAL_ID,
    )
    assert (run.agent, run.playbook_version, run.planner_version) == (
        "support-agent",
        "refund-order@3",
        None,
    )
    assert run.started_at == T0 + timedelta(seconds=1)


def test_a_goal_seen_after_the_start_fills_the_goal_in() -> None:
    started = fold([start()])
    assert started.goal == ""
    assert fold([goal()], {RUN: started}).goal == "refund order 42"


def test_a_goal_archived_earlier_is_taken_from_the_goals_given() -> None:
    run = fold_runs({}, [start()], {GOAL_ID: "sealed:goal"})[RUN]
    assert run.goal == "sealed:goal"


def test_a_goal_alone_or_an_event_of_no_run_creates_nothing() -> None:
    assert fold_runs({}, [goal(), event(m.DeadLettered, 3)], {}) == {}
    assert fold_runs({}, [event(m.RunStarted, 3, run_id=None)], {}) == {}


def test_steps_and_tool_calls_count_first_attempts_and_every_attempt() -> None:
    run = fold([start(), request(2), request(3, attempt=2), request(4)])
    assert (run.steps, run.tool_calls) == (2, 3)


def test_costs_and_tokens_add_up_from_tools_and_models() -> None:
    run = fold(
        [
            start(),
            event(m.ToolCallCompleted, 2, cost_micros=250_000),
            event(m.LlmCallRecorded, 3, cost_micros=1_500, prompt_tokens=100, completion_tokens=20),
        ]
    )
    assert (run.cost, run.tokens) == (Decimal("0.2515"), 120)


def test_a_run_waits_while_an_approval_is_open_whatever_order_they_come_in() -> None:
    waiting = fold([start(), event(m.ApprovalRequested, 2)])
    assert (waiting.status, waiting.open_approvals) == (RunStatus.WAITING_APPROVAL, 1)
    assert fold([event(m.ApprovalGranted, 3)], {RUN: waiting}).status is RunStatus.RUNNING
    # The decision came through another topic first: open again only when both are in.
    early = fold([start(), event(m.ApprovalDenied, 2)])
    assert fold([event(m.ApprovalRequested, 3)], {RUN: early}).status is RunStatus.RUNNING


def test_the_final_event_carries_the_totals_and_late_events_change_nothing() -> None:
    done = event(m.RunCompleted, 5, steps=3, tool_calls=4, tokens=7, cost_micros=900_000)
    run = fold(
        [start(), request(2), done, request(9), event(m.ToolCallCompleted, 9, cost_micros=1)]
    )
    assert (run.status, run.steps, run.tool_calls, run.tokens, run.cost) == (
        RunStatus.COMPLETED,
        3,
        4,
        7,
        Decimal("0.9"),
    )
    assert run.finished_at == T0 + timedelta(seconds=5)
    assert run.final


def test_a_step_seen_before_the_start_still_counts_and_the_start_sets_the_rest() -> None:
    run = fold([request(2), start(1)])
    assert (run.steps, run.status, run.started_at) == (
        1,
        RunStatus.RUNNING,
        T0 + timedelta(seconds=1),
    )
    assert run.updated_at == T0 + timedelta(seconds=2)
    assert run.last_event_id == "ToolCallRequested-2"


def test_failed_and_cancelled_runs_end_too() -> None:
    failed = fold([start(), event(m.RunFailed, 4, steps=1, tool_calls=1, cost_micros=0)])
    cancelled = fold([start(), event(m.RunCancelled, 4)])
    assert (failed.status, cancelled.status) == (RunStatus.FAILED, RunStatus.CANCELLED)


def test_a_run_whose_goal_waits_is_queued_until_it_starts() -> None:
    queued = event(m.RunQueued, 1)
    assert fold([goal(), queued]).status is RunStatus.QUEUED
    started = fold([goal(), queued, start(2)])
    assert started.status is RunStatus.RUNNING
    assert started.goal_event_id is not None


def test_a_queued_event_never_takes_a_started_run_back() -> None:
    assert fold([start(1), event(m.RunQueued, 2)]).status is RunStatus.RUNNING
