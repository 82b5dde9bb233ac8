"""Asking the model for the runs that wait on it, and recording every exchange as an event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentdeck.contracts import Event, Producer, deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.hashing import canonical_json
from agentdeck.planner.adapters.model_calls import ModelAnswer, ModelCalls
from agentdeck.planner.core import Context, RunPhase, RunState, decide
from agentdeck.planner.core.llm import model_request
from agentdeck.planner.core.pricing import ModelPrice, call_cost_micros

__all__ = ["ModelTurns"]

_MAX_TURNS_PER_BATCH = 4


class ModelTurns:
    """Runs each waiting conversation forward until it waits on something else."""

    def __init__(
        self,
        calls: ModelCalls,
        tools: Sequence[dict[str, Any]],
        *,
        prices: Mapping[str, ModelPrice],
        identity: Producer,
    ) -> None:
        self._calls = calls
        self._tools = list(tools)
        self._prices = prices
        self._identity = identity

    def advance(self, state: RunState, ctx: Context) -> tuple[RunState, list[Event]]:
        """The run after the model's answers, and the events they caused."""
        events: list[Event] = []
        for _ in range(_MAX_TURNS_PER_BATCH):
            conv = state.llm
            if conv is None or not conv.awaiting_model or state.phase is not RunPhase.RUNNING:
                break
            request = model_request(state, self._tools)
            answer = self._calls.answer(state.run_id, conv.turn, request, tenant=state.tenant)
            recorded = self._recorded(state, conv.turn, answer, ctx)
            next_state, out = decide(state, recorded, ctx)
            published = recorded.model_copy(
                update={
                    "request_json": answer.recorded_request,
                    "response_json": answer.recorded_response,
                }
            )
            events += [published, *out]
            if next_state is None:
                break
            state = next_state
        return state, events

    def _recorded(
        self, state: RunState, turn: int, answer: ModelAnswer, ctx: Context
    ) -> m.LlmCallRecorded:
        usage = answer.response.get("usage") or {}
        prompt, completion = (
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )
        model = str(answer.response.get("model") or state.playbook_version)
        envelope = envelope_for(
            m.LlmCallRecorded,
            event_id=deterministic_id(state.run_id, "llm", str(turn)),
            tenant=state.tenant,
            producer=self._identity,
            occurred_at=ctx.now,
            run_id=state.run_id,
            correlation_id=state.correlation_id,
            agent=state.agent,
            traceparent=state.traceparent,
        )
        return m.LlmCallRecorded(
            envelope=envelope,
            model=model,
            request_hash=answer.request_hash,
            request_json=answer.request_json,
            response_json=canonical_json(answer.response),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_micros=call_cost_micros(self._prices, model, usage, cache_hit=answer.cached),
            latency_ms=answer.latency_ms,
            cached=answer.cached,
        )
