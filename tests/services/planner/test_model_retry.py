"""When a failed model call is tried again: backoff doubles, jitter is drawn outside, a budget."""

import pytest

from agentdeck.contracts import models as m
from agentdeck.errors import ErrorCategory
from agentdeck.planner.core.model_retry import ModelRetry, Verdict, after_failure

POLICY = ModelRetry(max_attempts=4, backoff_s=1.0, max_backoff_s=3.0, jitter=0.5)


def _failure(*, retryable: bool) -> m.ErrorInfo:
    return m.ErrorInfo(
        capability="planner.llm",
        code="model_unavailable" if retryable else "model_refused",
        category=ErrorCategory.TRANSIENT if retryable else ErrorCategory.PERMANENT,
        retryable=retryable,
        message="m",
    )


UNAVAILABLE, REFUSED = _failure(retryable=True), _failure(retryable=False)


@pytest.mark.parametrize(("attempt", "wait_ms"), [(1, 1000), (2, 2000), (3, 3000)])
def test_the_backoff_doubles_after_each_failed_attempt_up_to_its_cap(attempt, wait_ms):
    verdict = after_failure(POLICY, UNAVAILABLE, attempt=attempt, draw=0.5)
    assert verdict == Verdict(wait_ms, 0)


def test_the_jitter_drawn_is_part_of_the_wait_and_recorded_apart():
    low = after_failure(POLICY, UNAVAILABLE, attempt=2, draw=0.0)
    high = after_failure(POLICY, UNAVAILABLE, attempt=2, draw=0.999)
    assert low == Verdict(1000, -1000)
    assert high.retry_in_ms == 2000 + high.jitter_ms
    assert 990 <= high.jitter_ms < 1000


def test_the_last_attempt_of_the_budget_gives_up():
    assert after_failure(POLICY, UNAVAILABLE, attempt=4, draw=0.5) == Verdict(None)
    assert after_failure(POLICY, UNAVAILABLE, attempt=3, draw=0.5).retry_in_ms is not None


def test_a_refusal_gives_up_at_the_first_attempt():
    assert after_failure(POLICY, REFUSED, attempt=1, draw=0.5) == Verdict(None)


def test_a_wait_the_endpoint_asked_for_is_kept_when_longer_than_the_backoff():
    verdict = after_failure(POLICY, UNAVAILABLE, attempt=1, draw=0.5, at_least_s=2.5)
    assert verdict == Verdict(2500, 0)
    capped = after_failure(POLICY, UNAVAILABLE, attempt=1, draw=0.5, at_least_s=3600)
    assert capped == Verdict(3000, 0), "up to the longest backoff"
    shorter = after_failure(POLICY, UNAVAILABLE, attempt=1, draw=0.5, at_least_s=0.2)
    assert shorter == Verdict(1000, 0)
