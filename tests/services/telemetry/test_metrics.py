import pytest

from agentdeck.contracts import Event, default_codec
from agentdeck.contracts import models as m
from agentdeck.contracts.examples import example_message
from agentdeck.telemetry.core import RunFacts, facts_of, weekly_metrics

CODEC = default_codec()


def example(event_type: type[Event], **changes: object) -> Event:
    event = CODEC.decode(example_message(CODEC.registry.latest(event_type.EVENT_TYPE)))
    return event.model_copy(update=changes)


def test_an_unfinished_run_has_no_facts_yet():
    assert facts_of([example(m.RunStarted)]) is None


def test_a_completed_run_that_asked_a_human_counts_as_escalated():
    facts = facts_of(
        [example(m.ApprovalRequested), example(m.RunCompleted, cost_micros=300, tool_calls=3)]
    )
    assert facts == RunFacts(
        status="completed", cost_micros=300, tool_calls=3, escalated=True, silent_failure=False
    )


def test_a_completed_run_with_a_step_that_failed_for_good_is_a_silent_failure():
    failed = example(m.ToolCallFailed)
    facts = facts_of([failed, example(m.RunCompleted)])
    assert facts is not None
    assert facts.silent_failure


def test_a_step_that_failed_then_succeeded_is_no_silent_failure():
    facts = facts_of(
        [example(m.ToolCallFailed), example(m.ToolCallCompleted), example(m.RunCompleted)]
    )
    assert facts is not None
    assert not facts.silent_failure


def test_the_weekly_metrics_over_a_mix_of_runs():
    metrics = weekly_metrics(
        [
            RunFacts("completed", 2_000_000, 4, escalated=False, silent_failure=False),
            RunFacts("completed", 1_000_000, 2, escalated=True, silent_failure=True),
            RunFacts("failed", 1_000_000, 3, escalated=False, silent_failure=False),
            RunFacts("cancelled", 0, 1, escalated=False, silent_failure=False),
        ]
    )
    assert metrics.runs == 4
    assert metrics.completion_rate == pytest.approx(0.5)
    assert metrics.cost_per_completion_usd == pytest.approx(2.0)
    assert metrics.tool_calls_per_task == pytest.approx(2.5)
    assert metrics.escalation_rate == pytest.approx(0.25)
    assert metrics.silent_failure_rate == pytest.approx(0.5)


def test_no_runs_means_zeros_not_a_division_error():
    assert weekly_metrics([]).completion_rate == 0.0
