"""How a parked call ends: expired approvals, and grants that come after their decision expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentdeck.contracts.models import DecisionOutcome, ToolCallFailed
from agentdeck.tool_executor.core.verify import ApprovalRefused

from .conftest import utc_now


def _refund(authority, reason="broken on arrival", **kwargs):  # type: ignore[no-untyped-def]
    args = {"order_id": "3001", "amount_cents": 6000, "reason": reason}
    return authority.decision(
        "create_refund", args, outcome=DecisionOutcome.REQUIRE_APPROVAL, **kwargs
    )


def _refusal(executor, *events, error):  # type: ignore[no-untyped-def]
    with pytest.raises(error) as raised:
        executor.handle(*events)
    return raised.value.code


def test_an_expired_approval_runs_nothing_and_a_grant_after_it_is_refused(authority, make_executor):
    executor = make_executor()
    decision = _refund(authority)
    assert executor.handle(decision) == []
    assert executor.handle(authority.expire(decision)) == []
    late = authority.grant(decision)
    assert _refusal(executor, late, error=ApprovalRefused) == "approval_closed"


def test_a_grant_that_comes_after_its_decision_expired_runs_nothing(authority, make_executor, desk):
    now = utc_now()
    clock = {"now": now}
    executor = make_executor(clock=lambda: clock["now"])
    decision = _refund(authority, "broken on arrival late", expires_in=timedelta(minutes=5))
    assert executor.handle(decision) == []
    clock["now"] = now + timedelta(minutes=6)  # the approver answered too late
    (failed,) = executor.handle(authority.grant(decision))
    assert isinstance(failed, ToolCallFailed)
    assert (failed.failure.code, failed.failure.retryable) == ("decision_expired", False)
    assert not [r for r in desk.refunds() if r.reason == "broken on arrival late"]
