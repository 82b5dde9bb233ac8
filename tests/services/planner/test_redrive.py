"""Re-driving stalled runs: which requests go out again, when, and the table's wake-ups."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agentdeck.contracts import models as m
from agentdeck.planner.adapters.records import RunStatesTable
from agentdeck.planner.adapters.tables import SCHEMA
from agentdeck.planner.core import RunPhase, StepStatus, decide
from agentdeck.planner.core.llm import waits_for_model
from agentdeck.planner.core.redrive import (
    HUMAN_FACTOR,
    deadline_reached,
    next_wake,
    requests_to_redrive,
    wake_at,
)
from agentdeck.store import migrate, transaction

from .test_core import ME, NOW, ORDER, Run, goal
from .test_llm_core import _ctx as llm_ctx
from .test_llm_core import _goal as llm_goal

if TYPE_CHECKING:
    from testkit.sql import Databases

AFTER = timedelta(seconds=60)


def test_a_requested_call_is_re_driven_as_first_published_until_it_has_an_outcome():
    run = Run(goal(2000))
    [first] = [e for e in run.emitted if isinstance(e, m.ToolCallRequested)]
    assert requests_to_redrive(run.run) == [first]
    assert wake_at(run.run, AFTER) == run.run.updated_at + AFTER
    run.feed(run.decision("lookup", m.DecisionOutcome.ALLOW))
    assert requests_to_redrive(run.run) == [first], "allowed: its outcome may still be lost"
    run.feed(run.completed("lookup", ORDER))
    [refund] = requests_to_redrive(run.run)
    assert refund.envelope.step_id == "refund"
    assert run.run.step("lookup").request is None, "a step with an outcome keeps no request"


def test_a_call_waiting_for_a_human_is_re_driven_ten_times_later_and_a_finished_run_not():
    # Its decision may have been lost before the approval service read it: published
    # again, the decision reaches it and the case opens (an open case is not opened twice).
    run = Run(goal(23000))
    run.allow_and_complete("lookup", ORDER | {"refundable_cents": 23000})
    [refund] = [
        e
        for e in run.emitted
        if isinstance(e, m.ToolCallRequested) and e.envelope.step_id == "refund"
    ]
    run.feed(run.decision("refund", m.DecisionOutcome.REQUIRE_APPROVAL))
    assert run.run.step("refund").status is StepStatus.WAITING_APPROVAL
    assert requests_to_redrive(run.run) == [refund]
    assert wake_at(run.run, AFTER) == run.run.updated_at + AFTER * HUMAN_FACTOR
    later = run.run.updated_at + timedelta(hours=1)
    assert next_wake(run.run, later, AFTER) == later + AFTER * HUMAN_FACTOR
    done = Run(goal(2000))
    done.allow_and_complete("lookup", ORDER)
    done.allow_and_complete("refund", {"refund_id": "rf-1", "amount_cents": 2000})
    done.allow_and_complete("draft", {"to": "kim@example.com", "subject": "s", "body": "b"})
    assert requests_to_redrive(done.run) == []
    # Ended: it wakes once more, to make sure its final event reached the archive.
    assert isinstance(done.run.ended_with, m.RunCompleted)
    assert done.run.ended_with in done.emitted
    assert wake_at(done.run, AFTER) == done.run.updated_at + AFTER


def test_due_runs_are_found_and_snoozed_unless_a_save_moved_them(databases: Databases):
    engine = databases.new_engine()
    migrate(engine, SCHEMA)
    table, at = RunStatesTable(), datetime(2026, 3, 1, 9, 0, tzinfo=NOW.tzinfo)
    with transaction(engine) as conn:
        table.put_many(
            conn,
            [
                ("stalled", "{}", at, at + AFTER, None),
                ("moved", "{}", at, at + AFTER, None),
                ("later", "{}", at, at + 2 * AFTER, None),
                ("ended", "{}", at, at + AFTER, "final-event"),
                ("done", "{}", at, None, "final-event-2"),
            ],
        )
        due = table.due(conn, at + AFTER, limit=10)
        assert due == {
            "stalled": (at + AFTER, None),
            "moved": (at + AFTER, None),
            "ended": (at + AFTER, "final-event"),
        }
        table.put_many(conn, [("moved", "{}", at + AFTER, at + 3 * AFTER, None)])  # progress
        table.snooze(conn, {r: w for r, (w, _f) in due.items() if r != "ended"}, at + 5 * AFTER)
        table.snooze(conn, {"ended": at + AFTER}, None)  # its final event was archived
        assert table.due(conn, at + 4 * AFTER, limit=10) == {
            "later": (at + 2 * AFTER, None),
            "moved": (at + 3 * AFTER, None),
        }


def _parked_with_deadline(seconds: int) -> Run:
    run = Run(goal(23000, deadline=NOW + timedelta(seconds=seconds)))
    run.allow_and_complete("lookup", ORDER | {"refundable_cents": 23000})
    run.feed(run.decision("refund", m.DecisionOutcome.REQUIRE_APPROVAL))
    return run


def test_a_run_waiting_for_a_human_wakes_at_its_deadline_and_its_timer_ends_it():
    run = _parked_with_deadline(30)
    deadline = NOW + timedelta(seconds=30)
    assert wake_at(run.run, AFTER) == deadline
    assert next_wake(run.run, NOW, AFTER) == deadline, "re-driven, it still wakes at its deadline"
    assert deadline_reached(run.run, deadline - timedelta(seconds=1), producer=ME) is None
    timer = deadline_reached(run.run, deadline, producer=ME)
    assert timer is not None
    assert timer.envelope.run_id == run.run.run_id
    assert run.feed(timer, now=deadline - timedelta(seconds=1)) == [], "not yet: nothing"
    [failed] = run.feed(timer, now=deadline)
    assert isinstance(failed, m.RunFailed)
    assert failed.failure.code == "deadline_exceeded"
    assert failed.envelope.causation_id == timer.envelope.event_id
    assert run.run.phase is RunPhase.FAILED
    assert run.run.ended_with == failed
    assert run.feed(timer, now=deadline) == [], "ended: a repeated timer changes nothing"


def test_a_run_waiting_for_its_model_wakes_when_it_stalls_and_not_after_it_ends():
    waiting, _ = decide(None, llm_goal(), llm_ctx())
    assert waiting is not None
    assert waits_for_model(waiting)
    assert requests_to_redrive(waiting) == [], "nothing to publish again: the model is asked"
    assert wake_at(waiting, AFTER) == waiting.updated_at + AFTER
    failed = waiting.model_copy(update={"phase": RunPhase.FAILED})
    assert wake_at(failed, AFTER) is None
