"""Asking the model off the batch loop, and recording every outcome as an event.

A batch only decides that a run waits for its model (``awaiting_model``, saved
with the run); once that state is committed the handler hands the run here. A
bounded pool of threads makes the calls, so a slow or failing endpoint delays
only the runs that wait for it, never a batch and never a playbook run. Each
outcome goes back to the planner's own loop as an event on ``runs``:
``LlmCallRecorded`` for an answer, ``LlmCallFailed`` for a failed attempt with
the backoff drawn for the next one (none: the run fails). Waiting out a
backoff holds no thread.

A run whose call was lost with its process (a restart, a partition moved to
another replica) stalls and is asked for again by the re-drive timer
(:mod:`agentdeck.planner.redriver`); the answer ledger keeps a redelivered or
repeated ask from reaching the model twice for one turn.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agentdeck.contracts import Event, Producer, envelope_for
from agentdeck.contracts import models as m
from agentdeck.errors import MESSAGE_LIMIT, ErrorCategory, Failure, error_info
from agentdeck.kafka import Publisher
from agentdeck.planner.adapters.endpoints import Endpoints
from agentdeck.planner.adapters.model import ModelUnavailable
from agentdeck.planner.adapters.model_calls import ModelAnswer, ModelCalls
from agentdeck.planner.core import RunState
from agentdeck.planner.core.llm import answer_id, failure_id, model_request, waits_for_model
from agentdeck.planner.core.model_retry import ModelRetry, Verdict, after_failure
from agentdeck.planner.core.pricing import ModelPrice, call_cost_micros
from agentdeck.runtime import Clock

__all__ = ["ModelTurns"]

log = logging.getLogger(__name__)

_AGAIN_S = 1.0
"""Wait before trying an attempt again whose outcome could not be published or read."""

_REMEMBERED = 100_000
"""Turns remembered as asked (one process asks a turn once)."""


@dataclass(frozen=True, order=True)
class _Due:
    at: float
    seq: int
    run: RunState = field(compare=False)
    attempt: int = field(compare=False)


class ModelTurns:
    """Asks the model for the runs that wait for it, on a pool of threads; a background task."""

    def __init__(
        self,
        calls: ModelCalls,
        endpoints: Endpoints,
        tools: Sequence[dict[str, Any]],
        *,
        retry: ModelRetry,
        prices: Mapping[str, ModelPrice],
        identity: Producer,
        publisher: Publisher,
        clock: Clock,
        workers: int = 4,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._calls = calls
        self._endpoints = endpoints
        self._tools = list(tools)
        self._retry = retry
        self._prices = prices
        self._identity = identity
        self._publisher = publisher
        self._clock = clock
        self._draw = draw
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="planner-model")
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._asked: OrderedDict[tuple[str, int], None] = OrderedDict()

    def ask(self, runs: Iterable[RunState]) -> None:
        """Ask the model for each of ``runs`` that waits for it and was not asked yet."""
        for run in runs:
            if not waits_for_model(run) or run.llm is None:
                continue
            key = (run.run_id, run.llm.turn)
            with self._wake:
                if key in self._asked:
                    continue  # in flight, or answered: the ledger has it
                self._asked[key] = None
                while len(self._asked) > _REMEMBERED:
                    self._asked.popitem(last=False)
            self._later(run, run.llm.failed_attempts + 1, 0.0)

    def run(self, stop: threading.Event) -> None:
        """Make the calls as they fall due until ``stop`` (a service background task)."""
        try:
            while not stop.is_set():
                for due in self._take_due(timeout_s=0.2):
                    self._pool.submit(self._attempt, due.run, due.attempt)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._publisher.close()

    def _later(self, run: RunState, attempt: int, delay_s: float) -> None:
        with self._wake:
            heapq.heappush(
                self._due, _Due(time.monotonic() + delay_s, next(self._seq), run, attempt)
            )
            self._wake.notify()

    def _take_due(self, *, timeout_s: float) -> list[_Due]:
        with self._wake:
            now = time.monotonic()
            if not self._due or self._due[0].at > now:
                first = self._due[0].at - now if self._due else timeout_s
                self._wake.wait(min(timeout_s, first))
                now = time.monotonic()
            due = []
            while self._due and self._due[0].at <= now:
                due.append(heapq.heappop(self._due))
            return due

    def _attempt(self, run: RunState, attempt: int) -> None:
        """One attempt at the run's current turn; its outcome published, a retry scheduled."""
        try:
            retry = self._outcome(run, attempt)
        except Exception:  # not published: the same attempt once the broker is back
            log.exception("model call of run %s: outcome not published", run.run_id)
            self._later(run, attempt, _AGAIN_S)
            return
        if retry is not None:
            self._later(run, attempt + 1, retry / 1000)

    def _outcome(self, run: RunState, attempt: int) -> int | None:
        """Ask, publish what came of it; the backoff in ms before the next attempt, or None."""
        assert run.llm is not None  # noqa: S101 -- only runs that wait for their model
        turn, port, wait_s = run.llm.turn, self._endpoints.attempt(), 0.0
        started = time.monotonic()
        try:
            request = model_request(run, self._tools)
            answer = self._calls.answer(run.run_id, turn, request, tenant=run.tenant, port=port)
        except Failure as exc:
            failure = error_info(exc)
            wait_s = exc.retry_after_s if isinstance(exc, ModelUnavailable) else 0.0
        except Exception as exc:  # an answer that breaks the adapter: counted, not retried forever
            log.exception("model call of run %s crashed", run.run_id)
            failure = _crashed(exc)
        else:
            self._publisher.publish([self._recorded(run, turn, answer)])
            return None
        latency = int((time.monotonic() - started) * 1000)
        verdict = after_failure(
            self._retry, failure, attempt=attempt, draw=self._draw(), at_least_s=wait_s
        )
        model = port.model or run.llm.model
        self._publisher.publish(
            [self._failed(run, attempt, failure, model=model, verdict=verdict, latency_ms=latency)]
        )
        return verdict.retry_in_ms

    def _envelope(self, run: RunState, event_type: type[Event], event_id: str) -> m.Envelope:
        return envelope_for(
            event_type,
            event_id=event_id,
            tenant=run.tenant,
            producer=self._identity,
            occurred_at=self._clock(),
            run_id=run.run_id,
            correlation_id=run.correlation_id,
            agent=run.agent,
            traceparent=run.traceparent,
        )

    def _failed(
        self,
        run: RunState,
        attempt: int,
        failure: m.ErrorInfo,
        *,
        model: str,
        verdict: Verdict,
        latency_ms: int,
    ) -> m.LlmCallFailed:
        assert run.llm is not None  # noqa: S101
        turn = run.llm.turn
        return m.LlmCallFailed(
            envelope=self._envelope(run, m.LlmCallFailed, failure_id(run.run_id, turn, attempt)),
            model=model,
            turn=turn,
            attempt=attempt,
            failure=failure,
            retry_in_ms=verdict.retry_in_ms,
            jitter_ms=verdict.jitter_ms,
            latency_ms=latency_ms,
        )

    def _recorded(self, run: RunState, turn: int, answer: ModelAnswer) -> m.LlmCallRecorded:
        usage = answer.response.get("usage") or {}
        prompt, completion = (
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )
        model = str(answer.response.get("model") or run.playbook_version)
        return m.LlmCallRecorded(
            envelope=self._envelope(run, m.LlmCallRecorded, answer_id(run.run_id, turn)),
            model=model,
            request_hash=answer.request_hash,
            request_json=answer.recorded_request,
            response_json=answer.recorded_response,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_micros=call_cost_micros(self._prices, model, usage, cache_hit=answer.cached),
            latency_ms=answer.latency_ms,
            cached=answer.cached,
        )


def _crashed(exc: Exception) -> m.ErrorInfo:
    return m.ErrorInfo(
        capability="planner.llm",
        code="model_call_crashed",
        category=ErrorCategory.TRANSIENT,
        retryable=True,
        message=f"asking the model raised {type(exc).__name__}: {exc}"[:MESSAGE_LIMIT],
        remediation=("the planner asks again after a backoff", "check the model endpoint"),
    )
