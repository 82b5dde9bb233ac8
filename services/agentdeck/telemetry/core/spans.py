"""One trace per run, built from its events after the fact (pure; the SDK lives in adapters).

The run's events carry every timestamp a trace needs, so telemetry derives the
spans instead of each service holding spans open across hops (an approval may
come hours later). Ids are derived from event ids, so rebuilding a trace yields
the same spans. Names and attributes follow the OpenTelemetry GenAI conventions
(``invoke_agent``, ``execute_tool``, ``apply_guardrail``, ``chat``,
``gen_ai.usage.*``) and the messaging conventions for Kafka.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agentdeck.contracts import Event
from agentdeck.contracts import models as m

__all__ = ["Received", "SpanSpec", "run_spans"]

Attr = str | int | float | bool


@dataclass(frozen=True)
class Received:
    """An event and where telemetry read it."""

    event: Event
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class SpanSpec:
    """Everything an exporter needs to write one span."""

    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    start: datetime
    end: datetime
    attributes: dict[str, Attr]
    error: str | None = None
    links: tuple[int, ...] = field(default=())


def _id(bits: int, *parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1


def _trace_of(goal_parent: str | None, run_id: str) -> tuple[int, int | None]:
    if goal_parent and len(parts := goal_parent.split("-")) == 4:
        return int(parts[1], 16), int(parts[2], 16)
    return _id(128, "trace", run_id), None


def _messaging(r: Received, group: str) -> dict[str, Attr]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": r.topic,
        "messaging.destination.partition.id": str(r.partition),
        "messaging.kafka.offset": r.offset,
        "messaging.consumer.group.name": group,
        "messaging.message.id": r.event.envelope.event_id,
    }


class _Builder:
    def __init__(self, received: Sequence[Received], group: str) -> None:
        self.items = sorted(received, key=lambda r: r.event.envelope.occurred_at)
        self.group = group
        first = self.items[0].event
        self.run_id = first.envelope.run_id or first.envelope.event_id
        self.trace, self.parent = _trace_of(first.envelope.traceparent, self.run_id)
        self.root = _id(64, self.run_id, "invoke_agent")
        self.end = self.items[-1].event.envelope.occurred_at
        self.spans: list[SpanSpec] = []

    def add(
        self,
        name: str,
        key: str,
        start: datetime,
        end: datetime,
        attrs: dict[str, Attr],
        *,
        parent: int | None = None,
        error: str | None = None,
        links: tuple[int, ...] = (),
    ) -> int:
        span_id = _id(64, self.run_id, key)
        self.spans.append(
            SpanSpec(
                name,
                self.trace,
                span_id,
                parent or self.root,
                start,
                max(end, start),
                attrs,
                error,
                links,
            )
        )
        return span_id

    def by_step(self) -> dict[str, list[Received]]:
        steps: dict[str, list[Received]] = {}
        for r in self.items:
            if r.event.envelope.step_id:
                steps.setdefault(r.event.envelope.step_id, []).append(r)
        return steps


def run_spans(received: Sequence[Received], *, group: str) -> list[SpanSpec]:
    """The spans of one run: the agent, each tool call with its guardrail and approval, chats."""
    if not received:
        return []
    b = _Builder(received, group)
    for step, items in b.by_step().items():
        _tool_spans(b, step, items)
    for r in b.items:
        if isinstance(r.event, m.LlmCallRecorded):
            _chat_span(b, r)
    _agent_span(b)
    return b.spans


def _agent_span(b: _Builder) -> None:
    events = [r.event for r in b.items]
    final = next(
        (
            e
            for e in reversed(events)
            if isinstance(e, m.RunCompleted | m.RunFailed | m.RunCancelled)
        ),
        None,
    )
    chats = [e for e in events if isinstance(e, m.LlmCallRecorded)]
    attrs: dict[str, Attr] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": events[-1].envelope.agent or "agent",
        "agentdeck.run.id": b.run_id,
        "agentdeck.tenant": events[0].envelope.tenant,
        "gen_ai.usage.input_tokens": sum(c.prompt_tokens for c in chats),
        "gen_ai.usage.output_tokens": sum(c.completion_tokens for c in chats),
        "agentdeck.outcome": type(final).__name__ if final else "running",
    }
    if final is not None and not isinstance(final, m.RunCancelled):
        attrs["agentdeck.cost_usd"] = final.cost_micros / 1e6
    error = final.failure.message if isinstance(final, m.RunFailed) else None
    span = SpanSpec(
        f"invoke_agent {attrs['gen_ai.agent.name']}",
        b.trace,
        b.root,
        b.parent,
        events[0].envelope.occurred_at,
        b.end,
        attrs,
        error,
    )
    b.spans.insert(0, span)


def _tool_spans(b: _Builder, step: str, items: list[Received]) -> None:
    for request in (r for r in items if isinstance(r.event, m.ToolCallRequested)):
        req = request.event
        assert isinstance(req, m.ToolCallRequested)  # noqa: S101 -- filtered above
        key = req.idempotency_key
        related = [
            r
            for r in items
            if getattr(r.event, "idempotency_key", key) == key
            and r.event.envelope.occurred_at >= req.envelope.occurred_at
        ]
        done = next(
            (
                r.event
                for r in related
                if isinstance(r.event, m.ToolCallCompleted | m.ToolCallFailed)
            ),
            None,
        )
        end = done.envelope.occurred_at if done else b.end
        error = done.failure.message if isinstance(done, m.ToolCallFailed) else None
        attrs: dict[str, Attr] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": req.tool,
            "gen_ai.tool.call.id": key,
            "agentdeck.step.id": step,
            "agentdeck.attempt": req.attempt,
            **_messaging(request, b.group),
        }
        tool = b.add(
            f"execute_tool {req.tool}", key, req.envelope.occurred_at, end, attrs, error=error
        )
        _guardrail_and_approval(b, req, items, tool)


def _guardrail_and_approval(
    b: _Builder, req: m.ToolCallRequested, items: list[Received], tool: int
) -> None:
    decision = next(
        (
            r
            for r in items
            if isinstance(r.event, m.PolicyDecided) and r.event.request_id == req.envelope.event_id
        ),
        None,
    )
    if decision is None:
        return
    d = decision.event
    assert isinstance(d, m.PolicyDecided)  # noqa: S101
    guard = b.add(
        "apply_guardrail policy",
        f"{d.decision_id}:guardrail",
        req.envelope.occurred_at,
        d.envelope.occurred_at,
        {
            "gen_ai.operation.name": "apply_guardrail",
            "agentdeck.policy.outcome": d.outcome.value,
            "agentdeck.policy.matched": ",".join(d.matched_policies),
            "agentdeck.policy.reason": d.reason,
            "agentdeck.policy.bundle_digest": d.bundle_digest,
            **_messaging(decision, b.group),
        },
        parent=tool,
    )
    asked = next(
        (
            r.event
            for r in items
            if isinstance(r.event, m.ApprovalRequested) and r.event.decision_id == d.decision_id
        ),
        None,
    )
    if isinstance(asked, m.ApprovalRequested):
        outcome = next(
            (
                r.event
                for r in items
                if isinstance(r.event, m.ApprovalGranted | m.ApprovalDenied | m.ApprovalExpired)
                and r.event.approval_id == asked.approval_id
            ),
            None,
        )
        end = outcome.envelope.occurred_at if outcome else b.end
        b.add(
            "await_approval",
            f"{asked.approval_id}:approval",
            asked.envelope.occurred_at,
            end,
            {
                "agentdeck.approval.id": asked.approval_id,
                "agentdeck.approval.role": asked.approver_role,
                "agentdeck.approval.outcome": type(outcome).__name__ if outcome else "pending",
            },
            parent=tool,
            links=(guard,),
        )


def _chat_span(b: _Builder, r: Received) -> None:
    chat = r.event
    assert isinstance(chat, m.LlmCallRecorded)  # noqa: S101
    end = chat.envelope.occurred_at
    b.add(
        f"chat {chat.model}",
        f"{chat.envelope.event_id}:chat",
        end - timedelta(milliseconds=chat.latency_ms),
        end,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": chat.model,
            "gen_ai.usage.input_tokens": chat.prompt_tokens,
            "gen_ai.usage.output_tokens": chat.completion_tokens,
            "agentdeck.cached": chat.cached,
            **_messaging(r, b.group),
        },
    )
