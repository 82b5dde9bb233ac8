"""The handler on a real store (SQLite and PostgreSQL) and real Redis, without a broker."""

import json
from datetime import UTC, datetime, timedelta

from agentdeck.contracts.models import ToolCallCompleted, ToolCallFailed
from agentdeck.demo._rules import email_id
from agentdeck.errors import ErrorCategory
from agentdeck.tool_executor.adapters.claims import ClaimsRepository
from agentdeck.tool_executor.adapters.effects import EffectLedger
from agentdeck.tool_executor.adapters.tables import EffectStatus
from agentdeck.tool_executor.core.plan import Claim

EFFECTS = EffectLedger()


def _types(events):  # type: ignore[no-untyped-def]
    return [type(e) for e in events]


def _leave_started(store, decision, minutes_ago=5):  # type: ignore[no-untyped-def]
    """What a crash between the ledger's start and the tool's completion leaves behind."""
    with store.transaction() as conn:
        EFFECTS.begin(
            conn,
            decision.idempotency_key,
            run_id=decision.envelope.run_id,
            step_id=decision.envelope.step_id,
            tool=decision.tool,
            args_hash=decision.arguments_hash,
            now=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        )


def _status(store, key):  # type: ignore[no-untyped-def]
    with store.transaction(read_only=True) as conn:
        return EFFECTS.get(conn, key).status


def test_a_valid_signed_allow_runs_the_tool_and_reports_started_then_completed(
    authority, make_executor
):
    decision = authority.decision("lookup_order", {"order_id": "1042"})
    events = make_executor().handle(decision)
    assert _types(events) == [ToolCallCompleted]
    (completed,) = events
    assert completed.idempotency_key == decision.idempotency_key
    order = json.loads(completed.output_json)
    assert (order["amount_cents"], order["customer_email"]) == (4200, "dana@example.com")
    assert completed.provenance.tool_version == "1.0"
    assert completed.provenance.source == "tool:lookup_order@1.0"
    assert completed.envelope.causation_id == decision.envelope.event_id


def test_the_same_decision_delivered_twice_has_its_effect_once(authority, make_executor, desk):
    executor = make_executor()
    decision = authority.decision(
        "create_refund", {"order_id": "2077", "amount_cents": 500, "reason": "late"}
    )
    before = len(desk.refunds())
    first = executor.handle(decision, commit=False)  # crash after publishing, before commit
    again = executor.handle(decision)
    assert again == first  # the same events, the same ids: consumers drop the repeat
    # Processed, and delivered again (re-driven: its outcome may have been lost on the
    # way): the outcome is re-emitted from the ledger, and the refund is not made again.
    assert executor.handle(decision) == first
    assert len(desk.refunds()) == before + 1


def test_an_email_delivered_twice_is_sent_once(authority, make_executor, desk):
    executor = make_executor()
    decision = authority.decision(
        "send_email", {"to": "dana@example.com", "subject": "Refund", "body": "Done."}
    )
    executor.handle(decision, commit=False)
    executor.handle(decision, commit=False)
    sent = [e for e in desk.sent_emails() if e.message_id == email_id(decision.idempotency_key)]
    assert [e.deliveries for e in sent] == [1]


def test_a_call_left_started_whose_decision_expired_is_reported_unknown_not_stuck(
    authority, make_executor, store, desk
):
    """Its executor died mid-call; the decision comes again (re-driven) after it expired:
    it may have acted, so it is neither refused (nor dead-lettered) as if it never ran, nor
    retried for ever: its outcome is reported unknown."""
    decision = authority.decision(
        "send_email",
        {"to": "lee@example.com", "subject": "Hi", "body": "Late"},
        expires_in=timedelta(seconds=-1),
    )
    _leave_started(store, decision)
    with store.transaction() as conn:  # the claim is written with the ledger's start
        claim = Claim(decision.decision_id, decision.envelope.event_id)
        ClaimsRepository().add_many(conn, {decision.idempotency_key: claim}, datetime.now(UTC))
    events = make_executor().handle(decision, commit=False)
    assert _types(events) == [ToolCallFailed]
    assert events[0].failure.code == "outcome_unknown"
    assert email_id(decision.idempotency_key) not in {e.message_id for e in desk.sent_emails()}
    assert _status(store, decision.idempotency_key) is EffectStatus.UNKNOWN


def test_a_crash_mid_send_is_reported_as_unknown_and_never_repeated(
    authority, make_executor, store, desk
):
    decision = authority.decision(
        "send_email", {"to": "lee@example.com", "subject": "Hi", "body": "About your order"}
    )
    _leave_started(store, decision)
    events = make_executor().handle(decision, commit=False)
    assert _types(events) == [ToolCallFailed]
    failure = events[0].failure
    assert (failure.code, failure.retryable) == ("outcome_unknown", False)
    assert any("system of record" in option for option in failure.remediation)
    assert email_id(decision.idempotency_key) not in {e.message_id for e in desk.sent_emails()}
    assert _status(store, decision.idempotency_key) is EffectStatus.UNKNOWN
    assert make_executor().handle(decision) == events  # reported again, identically, not sent


def test_a_crash_mid_refund_is_reconciled_by_rerunning_under_the_same_key(
    authority, make_executor, store, desk
):
    decision = authority.decision(
        "create_refund", {"order_id": "3001", "amount_cents": 100, "reason": "dent"}
    )
    _leave_started(store, decision)
    events = make_executor().handle(decision)
    assert _types(events) == [ToolCallCompleted]
    assert _status(store, decision.idempotency_key) is EffectStatus.COMPLETED
    refund_id = json.loads(events[0].output_json)["refund_id"]
    assert [r.refund_id for r in desk.refunds()].count(refund_id) == 1


def test_a_call_started_moments_ago_is_left_to_whoever_runs_it(authority, make_executor, store):
    import pytest

    from agentdeck.tool_executor.adapters.calls import CallInFlight

    decision = authority.decision(
        "send_email", {"to": "lee@example.com", "subject": "Hi", "body": "Soon"}
    )
    _leave_started(store, decision, minutes_ago=0)
    with pytest.raises(CallInFlight):
        make_executor(in_flight_grace_s=60.0).handle(decision)


def test_invalid_arguments_fail_as_validation_without_starting_the_tool(authority, make_executor):
    decision = authority.decision("create_refund", {"order_id": "1042", "amount_cents": -5})
    events = make_executor().handle(decision)
    assert _types(events) == [ToolCallFailed]
    failure = events[0].failure
    assert (failure.code, failure.category) == ("invalid_arguments", ErrorCategory.VALIDATION)
    assert "amount_cents" in failure.message


def test_a_refund_above_the_refundable_amount_fails_with_the_desks_reason(authority, make_executor):
    decision = authority.decision(
        "create_refund", {"order_id": "1042", "amount_cents": 999_999, "reason": "x"}
    )
    events = make_executor().handle(decision)
    assert _types(events) == [ToolCallFailed]
    assert events[0].failure.code == "refund_exceeds_refundable"
    assert not events[0].failure.retryable


def test_calls_of_different_runs_run_side_by_side_and_each_runs_calls_stay_in_order(
    authority, make_executor
):
    first = authority.decision("lookup_order", {"order_id": "1042"})
    second = authority.decision(
        "lookup_order", {"order_id": "2077"}, run_id="other-" + first.envelope.run_id
    )
    follow = authority.decision(
        "lookup_order", {"order_id": "3001"}, run_id=first.envelope.run_id, step="s2"
    )
    events = make_executor().handle(first, second, follow)
    runs = [(e.envelope.run_id, e.envelope.step_id, type(e)) for e in events]
    mine = [r for r in runs if r[0] == first.envelope.run_id]
    assert mine == [
        (first.envelope.run_id, "s1", ToolCallCompleted),
        (first.envelope.run_id, "s2", ToolCallCompleted),
    ]
    assert len(runs) == 3


def test_calls_that_ran_are_recorded_even_when_another_call_of_the_batch_must_wait(
    authority, make_executor, store
):
    import pytest

    from agentdeck.tool_executor.adapters.calls import CallInFlight

    busy = authority.decision("send_email", {"to": "lee@example.com", "subject": "Hi", "body": "x"})
    _leave_started(store, busy, minutes_ago=0)  # someone else is sending it right now
    lookups = [authority.decision("lookup_order", {"order_id": o}) for o in ("1042", "2077")]
    executor = make_executor(in_flight_grace_s=60.0)
    with pytest.raises(CallInFlight):
        executor.handle(busy, *lookups)
    # The lookups ran, so their outcomes are durable: redelivery re-emits, never re-runs.
    assert [_status(store, d.idempotency_key) for d in lookups] == [EffectStatus.COMPLETED] * 2
    assert _status(store, busy.idempotency_key) == EffectStatus.STARTED
