import pytest
from pydantic import BaseModel

from agentdeck.tool_executor.core.reconcile import Ledger, Step, longest_call_s, next_step
from agentdeck.tool_executor.core.retry import Trouble, Verdict, after, backoff_s
from agentdeck.tools import RetryPolicy, SideEffect, ToolContract


class M(BaseModel):
    x: int = 0


def _contract(side_effect=SideEffect.WRITE, idempotent=True, attempts=3) -> ToolContract:  # type: ignore[no-untyped-def]
    return ToolContract(
        name="t",
        version="1",
        description="",
        input_model=M,
        output_model=M,
        side_effect=side_effect,
        idempotent=idempotent,
        timeout_s=10.0,
        retry=RetryPolicy(max_attempts=attempts, backoff_s=0.5, max_backoff_s=1.5),
    )


def test_backoff_doubles_up_to_its_cap():
    policy = RetryPolicy(max_attempts=5, backoff_s=0.5, max_backoff_s=1.5)
    assert [backoff_s(policy, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]


def test_retryable_errors_are_retried_until_the_attempts_run_out():
    contract = _contract(attempts=2)
    assert after(Trouble.RETRYABLE, attempt=1, contract=contract) == Verdict(True, 0.5)
    assert after(Trouble.RETRYABLE, attempt=2, contract=contract) == Verdict(False, 1.0)


def test_terminal_errors_are_never_retried():
    assert after(Trouble.TERMINAL, attempt=1, contract=_contract()) == Verdict(False)


@pytest.mark.parametrize(
    ("idempotent", "side_effect", "expected"),
    [
        (True, SideEffect.WRITE, Verdict(True, 0.5)),
        (False, SideEffect.IRREVERSIBLE, Verdict(False, unknown=True)),
    ],
)
def test_a_timeout_is_retried_only_when_repeating_is_harmless(idempotent, side_effect, expected):
    contract = _contract(side_effect, idempotent)
    assert after(Trouble.TIMEOUT, attempt=1, contract=contract) == expected


def test_a_write_that_crashed_or_timed_out_for_good_has_an_unknown_outcome():
    assert after(Trouble.CRASH, attempt=1, contract=_contract()).unknown
    assert after(Trouble.TIMEOUT, attempt=3, contract=_contract()).unknown
    reader = _contract(SideEffect.READ)
    assert not after(Trouble.CRASH, attempt=1, contract=reader).unknown


def test_the_ledger_decides_between_running_reemitting_waiting_and_reconciling():
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 6, 1, tzinfo=UTC)
    longest = longest_call_s(_contract())
    assert longest == 10 * 3 + 0.5 + 1.0

    def step(found, contract, age_s):  # type: ignore[no-untyped-def]
        now = start + timedelta(seconds=age_s)
        return next_step(found, contract=contract, started_at=start, now=now, grace_s=5)

    assert step(Ledger.NEW, _contract(), 0) is Step.PERFORM
    assert step(Ledger.COMPLETED, _contract(), 0) is Step.REEMIT
    assert step(Ledger.FAILED, _contract(), 0) is Step.REEMIT
    assert step(Ledger.OPEN, _contract(), longest) is Step.WAIT
    assert step(Ledger.OPEN, _contract(), longest + 6) is Step.RERUN
    assert step(Ledger.OPEN, _contract(idempotent=False), longest + 6) is Step.UNKNOWN
