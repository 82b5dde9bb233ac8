"""The LLM planner's decisions, with recorded answers and no model."""

import dataclasses
import json

from agentdeck.contracts import deterministic_id, envelope_for, follow_up
from agentdeck.contracts import models as m
from agentdeck.errors import ErrorCategory
from agentdeck.planner.core import RunPhase, decide
from agentdeck.planner.core.llm import failure_id, model_request

from .test_core import ME, NOW, TOOLS, ctx


def _ctx():
    return dataclasses.replace(ctx(), model_for=lambda _goal: "small")


def _goal() -> m.GoalSubmitted:
    env = envelope_for(
        m.GoalSubmitted,
        event_id="g-llm",
        tenant="acme",
        producer=ME,
        occurred_at=NOW,
        run_id="run-llm",
    )
    return m.GoalSubmitted(
        envelope=env, goal="refund order 1042", requested_by="crm", limits=m.RunLimits()
    )


def _answer(state, message: dict[str, object], turn: int) -> m.LlmCallRecorded:
    env = envelope_for(
        m.LlmCallRecorded,
        event_id=deterministic_id("run-llm", "llm", str(turn)),
        tenant="acme",
        producer=ME,
        occurred_at=NOW,
        run_id="run-llm",
    )
    response = {"choices": [{"message": message}], "usage": {}}
    return m.LlmCallRecorded(
        envelope=env,
        model="small",
        request_hash="h",
        request_json=json.dumps(model_request(state, [])),
        response_json=json.dumps(response),
        prompt_tokens=10,
        completion_tokens=5,
        cost_micros=15,
        latency_ms=1,
    )


def _call(name: str, args: dict[str, object]) -> dict[str, object]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


def test_a_policy_refusal_is_told_to_the_model_which_is_asked_again():
    state, events = decide(None, _goal(), _ctx())
    assert state is not None
    assert state.llm is not None
    assert state.llm.awaiting_model
    assert [type(e).__name__ for e in events] == ["RunStarted"]
    answer = _answer(state, _call("create_refund", {"order_id": "1042", "amount_cents": 90000}), 0)
    state, events = decide(state, answer, _ctx())
    request = next(e for e in events if isinstance(e, m.ToolCallRequested))
    assert (request.tool, state.llm.awaiting_model) == ("create_refund", False)
    denial = m.PolicyDecided(
        envelope=follow_up(request, m.PolicyDecided, producer=ME, occurred_at=NOW),
        decision_id="d",
        request_id=request.envelope.event_id,
        tool=request.tool,
        arguments_hash=request.arguments_hash,
        outcome=m.DecisionOutcome.DENY,
        reason="refunds above $500 are denied",
        bundle_version="1",
        bundle_digest="x",
        key_id="k",
        signature=b"s",
    )
    state, events = decide(state, denial, _ctx())
    assert events == []
    assert state.llm.awaiting_model, "the model decides what to do about the refusal"
    told = state.llm.messages[-1]
    assert (told["role"], told["tool_call_id"]) == ("tool", "c1")
    assert "refunds above $500 are denied" in told["content"]
    assert state.tokens == 15


def test_a_final_answer_completes_the_run_and_an_unusable_one_fails_it():
    state, _ = decide(None, _goal(), _ctx())
    done, events = decide(
        state, _answer(state, {"role": "assistant", "content": "done"}, 0), _ctx()
    )
    assert done.phase is RunPhase.COMPLETED
    assert json.loads(events[-1].output_json) == {"answer": "done"}  # type: ignore[attr-defined]
    bad = _answer(state, {"role": "assistant"}, 0).model_copy(update={"response_json": "{}"})
    failed, events = decide(state, bad, _ctx())
    assert failed.phase is RunPhase.FAILED
    assert events[-1].failure.code == "bad_model_answer"  # type: ignore[attr-defined]


def test_a_call_to_a_tool_that_does_not_exist_fails_with_the_known_tools():
    state, _ = decide(None, _goal(), _ctx())
    state, events = decide(state, _answer(state, _call("format_disk", {}), 0), _ctx())
    assert events[-1].failure.code == "unknown_tool"  # type: ignore[attr-defined]
    assert all(name in events[-1].failure.remediation[0] for name in TOOLS)  # type: ignore[attr-defined]


def _failed(attempt: int, *, retry_in_ms: int | None, retryable: bool = True, turn: int = 0):
    env = envelope_for(
        m.LlmCallFailed,
        event_id=failure_id("run-llm", turn, attempt),
        tenant="acme",
        producer=ME,
        occurred_at=NOW,
        run_id="run-llm",
    )
    failure = m.ErrorInfo(
        capability="planner.llm",
        code="model_unavailable" if retryable else "model_refused",
        category=ErrorCategory.TRANSIENT if retryable else ErrorCategory.PERMANENT,
        retryable=retryable,
        message="model endpoint answered 503" if retryable else "unknown model",
    )
    return m.LlmCallFailed(
        envelope=env,
        model="small",
        turn=turn,
        attempt=attempt,
        failure=failure,
        retry_in_ms=retry_in_ms,
        jitter_ms=0 if retry_in_ms is None else 120,
    )


def test_a_failed_attempt_with_a_retry_to_come_is_counted_and_the_run_keeps_waiting():
    state, _ = decide(None, _goal(), _ctx())
    state, events = decide(state, _failed(1, retry_in_ms=1120), _ctx())
    assert events == []
    assert (state.phase, state.llm.awaiting_model, state.llm.failed_attempts) == (
        RunPhase.RUNNING,
        True,
        1,
    )
    again, events = decide(state, _failed(1, retry_in_ms=1120), _ctx())
    assert (again, events) == (state, []), "a repeated attempt changes nothing"
    stale, events = decide(state, _failed(2, retry_in_ms=900, turn=5), _ctx())
    assert (stale, events) == (state, []), "an attempt at another turn changes nothing"


def test_the_last_failed_attempt_fails_the_run_with_a_machine_readable_code():
    state, _ = decide(None, _goal(), _ctx())
    state, _ = decide(state, _failed(1, retry_in_ms=1000), _ctx())
    state, events = decide(state, _failed(2, retry_in_ms=None), _ctx())
    assert state.phase is RunPhase.FAILED
    (failed,) = events
    assert isinstance(failed, m.RunFailed)
    assert failed.failure.code == "model_retries_exhausted"
    assert failed.failure.retryable
    assert "2 attempts" in failed.failure.message
    assert "model_unavailable" in failed.failure.message


def test_a_refused_request_fails_the_run_at_once_with_the_refusal():
    state, _ = decide(None, _goal(), _ctx())
    state, events = decide(state, _failed(1, retry_in_ms=None, retryable=False), _ctx())
    assert state.phase is RunPhase.FAILED
    assert [(type(e).__name__, e.failure.code, e.failure.retryable) for e in events] == [
        ("RunFailed", "model_refused", False)
    ]


def test_an_answer_to_a_turn_the_run_no_longer_waits_for_is_ignored():
    state, _ = decide(None, _goal(), _ctx())
    first = _answer(state, _call("lookup_order", {"order_id": "1042"}), 0)
    state, _ = decide(state, first, _ctx())
    assert not state.llm.awaiting_model
    again, events = decide(state, first, _ctx())
    assert (again, events) == (state, [])
