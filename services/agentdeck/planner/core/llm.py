"""The LLM planner's decisions: a conversation whose tool calls become governed steps.

The model call itself is I/O, made off the batch loop (``agentdeck.planner.turns``).
Core says when the model must be asked (``awaiting_model``) and what to send
(:func:`model_request`), turns each recorded answer (``LlmCallRecorded``) into
tool-call requests or the run's completion, and each recorded failed attempt
(``LlmCallFailed``) into a count, or, when no attempt follows, the run's failure.
Tool results, failures and policy refusals go back to the model as tool
messages, so it re-plans from the semantic error.
"""

from __future__ import annotations

import json
from typing import Any

from agentdeck.contracts import Event, deterministic_id, updated
from agentdeck.contracts import models as m
from agentdeck.errors import MESSAGE_LIMIT, ErrorCategory
from agentdeck.hashing import canonical_json
from agentdeck.planner.core._emit import envelope
from agentdeck.planner.core.context import Context
from agentdeck.planner.core.playbook import PlaybookStep
from agentdeck.planner.core.schedule import fail_run, request_call
from agentdeck.planner.core.state import (
    IN_FLIGHT_STATES,
    LlmConversation,
    RunPhase,
    RunState,
    StepState,
)

__all__ = [
    "SYSTEM_PROMPT",
    "answer_id",
    "answer_tool_message",
    "failure_id",
    "model_request",
    "on_model_answer",
    "on_model_failure",
    "waits_for_model",
]

SYSTEM_PROMPT = (
    "You are an operations agent. Use the tools to achieve the goal; every call is checked "
    "against policy and may need a human's approval. When the goal is achieved, or cannot "
    "be, answer in plain text without calling a tool."
)

Result = tuple[RunState, list[Event]]


def waits_for_model(state: RunState) -> bool:
    """Whether the run's next move is its model's (the planner must ask it)."""
    return state.phase is RunPhase.RUNNING and state.llm is not None and state.llm.awaiting_model


def answer_id(run_id: str, turn: int) -> str:
    """The event id of the answer to the run's ``turn``-th model call (one answer per turn)."""
    return deterministic_id(run_id, "llm", str(turn))


def failure_id(run_id: str, turn: int, attempt: int) -> str:
    """The event id of the failed ``attempt`` at the run's ``turn``-th model call."""
    return deterministic_id(run_id, "llm", str(turn), "failed", str(attempt))


def model_request(state: RunState, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The chat-completions request for the conversation's next turn."""
    assert state.llm is not None  # noqa: S101 -- only called for LLM runs
    return {
        "model": state.llm.model,
        "messages": list(state.llm.messages),
        "tools": tools,
        "temperature": 0,
    }


def _tool_calls(answer: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    message = answer["choices"][0]["message"]
    calls = []
    for call in message.get("tool_calls") or []:
        args = json.loads(call["function"].get("arguments") or "{}")
        calls.append((call["id"], call["function"]["name"], args))
    return calls


def on_model_answer(state: RunState, recorded: m.LlmCallRecorded, ctx: Context) -> Result:
    """Fold a recorded model answer: request its tool calls, or complete with its text.

    Only the answer to the turn the run waits for counts (a late or repeated one is ignored).
    """
    conv = _conversation(state)
    if not conv.awaiting_model or recorded.envelope.event_id != answer_id(state.run_id, conv.turn):
        return state, []
    tokens = recorded.prompt_tokens + recorded.completion_tokens
    state = updated(
        state,
        {
            "tokens": state.tokens + tokens,
            "updated_at": ctx.now,
            "cost_micros": state.cost_micros + recorded.cost_micros,
        },
    )
    try:
        answer = json.loads(recorded.response_json)
        message = answer["choices"][0]["message"]
        calls = _tool_calls(answer)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return fail_run(state, recorded, _bad_answer(str(exc)), ctx)
    turn = conv.turn + 1
    step_ids = [f"t{turn}_{n}" for n in range(1, len(calls) + 1)]
    conv = conv.model_copy(
        update={
            "messages": (*conv.messages, _assistant(message)),
            "awaiting_model": False,
            "turn": turn,
            "failed_attempts": 0,
            "calls": {**conv.calls, **{s: c[0] for s, c in zip(step_ids, calls, strict=True)}},
        }
    )
    steps = {**state.steps, **{s: StepState() for s in step_ids}}
    state = updated(state, {"llm": conv, "steps": steps})
    if not calls:
        return _complete(state, recorded, message.get("content") or "", ctx)
    events: list[Event] = []
    for step_id, (_call_id, tool, args) in zip(step_ids, calls, strict=True):
        state, more = request_call(
            state, PlaybookStep(id=step_id, tool=tool, args=args), 1, recorded, ctx
        )
        events += more
        if state.phase is not RunPhase.RUNNING:
            break
    return state, events


def on_model_failure(state: RunState, failed: m.LlmCallFailed, ctx: Context) -> Result:
    """Fold a failed attempt: counted while another follows; else the run fails, saying why."""
    conv = _conversation(state)
    current = conv.awaiting_model and failed.turn == conv.turn
    if not current or failed.attempt <= conv.failed_attempts:
        return state, []
    conv = updated(conv, {"failed_attempts": failed.attempt})
    state = updated(state, {"llm": conv, "updated_at": ctx.now})
    if failed.retry_in_ms is not None:
        return state, []
    return fail_run(state, failed, _gave_up(failed), ctx)


def _gave_up(failed: m.LlmCallFailed) -> m.ErrorInfo:
    """Why the run failed: the refusal itself (a 4xx), or the retry budget spent on ``failed``."""
    cause = failed.failure
    if not cause.retryable:
        return cause
    message = (
        f"the model ({failed.model}) gave no answer for turn {failed.turn} in {failed.attempt}"
        f" attempts; the last failed with {cause.code}: {cause.message}"
    )
    return m.ErrorInfo(
        capability="planner.llm",
        code="model_retries_exhausted",
        category=ErrorCategory.TRANSIENT,
        retryable=True,
        message=message[:MESSAGE_LIMIT],
        remediation=(
            "submit the goal again once the model endpoint answers",
            "configure a fallback model (AGENTDECK_PLANNER_LLM_FALLBACK_MODEL)",
            "plan the goal with a playbook",
        ),
    )


def _conversation(state: RunState) -> LlmConversation:
    if state.llm is None:
        raise ValueError(f"run {state.run_id} is not planned by a model")
    return state.llm


def answer_tool_message(state: RunState, step_id: str, content: str) -> RunState:
    """Give the model the outcome of one of its tool calls; ask it again when all are in."""
    conv = _conversation(state)
    call_id = conv.calls.get(step_id, step_id)
    messages = (*conv.messages, {"role": "tool", "tool_call_id": call_id, "content": content})
    waiting = any(s.status in IN_FLIGHT_STATES for s in state.steps.values())
    llm = updated(conv, {"messages": messages, "awaiting_model": not waiting})
    return updated(state, {"llm": llm, "updated_at": state.updated_at})


def _assistant(message: dict[str, Any]) -> dict[str, Any]:
    kept = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        kept["tool_calls"] = message["tool_calls"]
    return kept


def _complete(state: RunState, cause: Event, text: str, ctx: Context) -> Result:
    event = m.RunCompleted(
        envelope=envelope(cause, m.RunCompleted, state, ctx),
        output_json=canonical_json({"answer": text}),
        steps=state.steps_run,
        tool_calls=state.tool_calls,
        tokens=state.tokens,
        cost_micros=state.cost_micros,
    )
    done = updated(state, {"phase": RunPhase.COMPLETED, "finished_at": ctx.now})
    return done, [event]


def _bad_answer(detail: str) -> m.ErrorInfo:
    return m.ErrorInfo(
        capability="planner.llm",
        code="bad_model_answer",
        category=ErrorCategory.PERMANENT,
        retryable=False,
        message=f"the model's answer could not be used: {detail}",
        remediation=("check the model endpoint", "plan the goal with a playbook"),
    )
