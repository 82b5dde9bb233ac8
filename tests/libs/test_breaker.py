from datetime import UTC, datetime, timedelta

from agentdeck.breaker import (
    Breaker,
    BreakerConfig,
    admit,
    record,
    retry_after_s,
)

CONFIG = BreakerConfig(failures=3, cooldown_s=30.0)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _fail(breaker: Breaker, times: int, at: datetime = T0) -> Breaker:
    for _ in range(times):
        breaker = record(breaker, CONFIG, at, ok=False)
    return breaker


def test_a_closed_breaker_admits_calls_and_opens_after_consecutive_failures():
    breaker = _fail(Breaker(), 2)
    assert breaker.state == "closed"
    assert admit(breaker, CONFIG, T0)[1]
    opened = _fail(breaker, 1)
    assert opened.state == "open"
    assert not admit(opened, CONFIG, T0 + timedelta(seconds=10))[1]
    assert retry_after_s(opened, CONFIG, T0 + timedelta(seconds=10)) == 20.0


def test_a_success_resets_the_count_of_consecutive_failures():
    breaker = record(_fail(Breaker(), 2), CONFIG, T0, ok=True)
    assert _fail(breaker, 2).state == "closed"


def test_after_the_cooldown_one_trial_call_goes_through_and_closes_it_on_success():
    opened = _fail(Breaker(), 3)
    later = T0 + timedelta(seconds=30)
    half, admitted = admit(opened, CONFIG, later)
    assert (half.state, admitted) == ("half_open", True)
    assert not admit(half, CONFIG, later)[1]  # only one trial at a time
    assert record(half, CONFIG, later, ok=True) == Breaker()


def test_a_failed_trial_opens_the_breaker_again_for_a_full_cooldown():
    half, _ = admit(_fail(Breaker(), 3), CONFIG, T0 + timedelta(seconds=31))
    reopened = record(half, CONFIG, T0 + timedelta(seconds=31), ok=False)
    assert reopened.state == "open"
    assert reopened.opened_at == T0 + timedelta(seconds=31)
