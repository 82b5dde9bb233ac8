"""The backtest decides through the service's pipeline: it refuses what production refuses."""

from __future__ import annotations

from datetime import timedelta

from agentdeck.contracts.models import DecisionOutcome, PolicyDecided, ToolCallRequested
from agentdeck.policy_checker import core
from agentdeck.policy_checker.backtest import backtest
from agentdeck.signing import Signer, generate_private_key
from testkit.kafka import NOW, TEST_PRODUCER

from ._support import ACME_BUDGET, DEMO, DEMO_CATALOG, refund

KEY = Signer("policy-test", generate_private_key())
TTLS = core.Ttls(allow=timedelta(minutes=5), approval=timedelta(hours=24))


def _production(request: ToolCallRequested) -> PolicyDecided:
    """The decision the service makes on ``request`` (its budget holds)."""
    snapshot = core.Snapshot(budgets={"tenant:acme": ACME_BUDGET})
    facts, draft = core.pipeline(DEMO, [request], DEMO_CATALOG, snapshot, [1])[0]
    held = core.HoldOutcome(held=True, remaining_micros=ACME_BUDGET.remaining_micros)
    record = core.record_for(draft, facts, DEMO.bundle, outcome=held, decided_at=NOW, ttls=TTLS)
    events = core.events_for(record, request, identity=TEST_PRODUCER, key=KEY)
    return next(e for e in events if isinstance(e, PolicyDecided))


def test_a_version_the_registered_tool_cannot_serve_is_refused_as_in_production() -> None:
    request = refund(2000, tool_version="2.0")  # the bundle alone would let $20 through
    recorded = _production(request)
    assert (recorded.outcome, recorded.matched_policies) == (
        DecisionOutcome.DENY,
        (core.TOOL_VERSION,),
    )
    report = backtest([request, recorded], DEMO, DEMO_CATALOG)
    assert (report.calls, report.changes) == (1, [])


def test_a_call_recorded_as_allowed_that_a_guard_refuses_shows_as_now_denied() -> None:
    request = refund(2000, arguments_hash="0" * 64)
    recorded = _production(refund(2000)).model_copy(
        update={"request_id": request.envelope.event_id}
    )
    assert recorded.outcome is DecisionOutcome.ALLOW
    (change,) = backtest([request, recorded], DEMO, DEMO_CATALOG).changes
    assert (change.recorded, change.candidate) == ("ALLOW", "DENY")
    assert "create_refund" in change.reason
