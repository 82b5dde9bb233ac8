"""The planner's model calls, off its batch loop, against an endpoint that fails on cue."""

from __future__ import annotations

import threading
import time

import pytest

from agentdeck.breaker import BreakerConfig
from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.hotstate import InProcessHotState
from agentdeck.kafka import EventProducer, Publisher, Topic
from agentdeck.planner.adapters.endpoints import Endpoint, Endpoints
from agentdeck.planner.adapters.model import OpenAiCompatible
from agentdeck.planner.adapters.model_calls import ModelCalls
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.core import RunPhase, decide
from agentdeck.planner.core.model_retry import ModelRetry
from agentdeck.planner.core.pricing import DEFAULT_PRICES
from agentdeck.planner.core.state import RunState
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.planner.turns import ModelTurns
from agentdeck.runtime import ServiceRunner, utc_now
from agentdeck.store import Store
from testkit.authority import WriterProducer
from testkit.kafka import TEST_PRODUCER, read_topic
from testkit.model import Reply, ScriptedEndpoint
from testkit.privacy import opening

from .test_llm_core import _ctx as llm_ctx
from .test_llm_service import _goal
from .test_service import _registry, planner, run_states

FAST = {"llm_backoff_s": "0.05", "llm_jitter": "0.5", "llm_timeout_s": "5"}
ENDED = (m.RunCompleted, m.RunFailed)

# The store contract runs on both backends elsewhere; here the model path is what is under
# test, and it waits on real timeouts: PostgreSQL only.
pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


def _ended(kafka, codec, run_id: str, *, timeout_s: float = 30.0) -> list[Event]:
    """The run's events on ``runs`` once it has ended."""
    topic = Topic.RUNS.full(kafka.topic_prefix)
    deadline = time.monotonic() + timeout_s
    while True:
        events = [codec.decode(r.value()) for r in read_topic(kafka, topic, 10_000, 0.3)]
        mine = [e for e in events if e.envelope.run_id == run_id]
        if any(isinstance(e, ENDED) for e in mine) or time.monotonic() > deadline:
            return mine


def _state(codec, store: Store, run_id: str) -> RunState:
    with store.transaction(read_only=True) as conn:
        return run_states(codec, store).load(conn, [run_id])[run_id]


class _Planner:
    """A planner asking ``endpoint``; the goal of one LLM run submitted."""

    def __init__(self, kafka, codec, engine, endpoint: ScriptedEndpoint, **settings: str) -> None:
        self.store = Store(engine)
        self.codec = opening(codec, self.store)
        self.kafka = kafka
        self.run_id = f"llm-{kafka.topic_prefix}"
        self.settings = {"llm_base_url": endpoint.base_url, **FAST, **settings}
        self.runner: ServiceRunner | None = None

    def start(self, **settings: str) -> None:
        self.runner = planner(self.kafka, self.codec, self.store, **{**self.settings, **settings})
        self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def submit(self) -> None:
        producer = WriterProducer(self.kafka, self.codec, client_id="others")
        producer.send(_goal(self.run_id))
        producer.flush()

    def outcome(self) -> list[Event]:
        self.submit()
        try:
            return _ended(self.kafka, self.codec, self.run_id)
        finally:
            self.stop()

    def state(self) -> RunState:
        return _state(self.codec, self.store, self.run_id)


def _replays_clean(run_id: str, events: list[Event]) -> None:
    """The run, its goal first, replays to the same decisions without asking any model."""
    recorded = [_goal(run_id), *events]
    result = replay_run(recorded, playbooks=bundled_playbooks(), tools=tool_infos(_registry()))
    assert result.divergence is None, result.divergence.describe()
    assert result.state is not None
    assert result.state.phase is not RunPhase.RUNNING


def _types(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_5xx_is_retried_after_a_recorded_backoff_and_the_answer_completes_the_run(
    kafka, codec, engine
):
    with ScriptedEndpoint([Reply(503)]) as endpoint:
        run = _Planner(kafka, codec, engine, endpoint)
        run.start()
        events = run.outcome()
    assert _types(events) == ["RunStarted", "LlmCallFailed", "LlmCallRecorded", "RunCompleted"]
    failed = events[1]
    assert isinstance(failed, m.LlmCallFailed)
    assert (failed.turn, failed.attempt, failed.failure.code) == (0, 1, "model_unavailable")
    assert failed.retry_in_ms is not None
    assert 25 <= failed.retry_in_ms <= 75, "50 ms, give or take half of it"
    assert failed.retry_in_ms == 50 + failed.jitter_ms
    assert len(endpoint.asked) == 2
    assert run.state().phase is RunPhase.COMPLETED
    _replays_clean(run.run_id, events)


def test_a_429_waits_as_long_as_the_endpoint_asks(kafka, codec, engine):
    with ScriptedEndpoint([Reply(429, headers={"Retry-After": "1"})]) as endpoint:
        run = _Planner(kafka, codec, engine, endpoint)
        run.start()
        events = run.outcome()
    failed = next(e for e in events if isinstance(e, m.LlmCallFailed))
    assert (failed.failure.code, failed.retry_in_ms) == ("model_rate_limited", 1000)
    first, second = endpoint.asked
    assert second.at - first.at >= 0.95
    assert _types(events)[-1] == "RunCompleted"


def test_a_model_that_never_answers_in_time_fails_the_run_after_the_retry_budget(
    kafka, codec, engine
):
    with ScriptedEndpoint(then=Reply(delay_s=2.0)) as endpoint:
        run = _Planner(kafka, codec, engine, endpoint, llm_timeout_s="0.2", llm_max_attempts="2")
        run.start()
        events = run.outcome()
    assert _types(events) == ["RunStarted", "LlmCallFailed", "LlmCallFailed", "RunFailed"]
    assert [(e.attempt, e.failure.code) for e in events[1:3]] == [
        (1, "model_timeout"),
        (2, "model_timeout"),
    ]
    assert events[2].retry_in_ms is None
    ended = events[-1]
    assert isinstance(ended, m.RunFailed)
    assert ended.failure.code == "model_retries_exhausted"
    assert run.state().phase is RunPhase.FAILED
    _replays_clean(run.run_id, events)


def test_a_4xx_fails_the_run_at_once_with_the_refusal(kafka, codec, engine):
    with ScriptedEndpoint([Reply(400)]) as endpoint:
        run = _Planner(kafka, codec, engine, endpoint)
        run.start()
        events = run.outcome()
    assert _types(events) == ["RunStarted", "LlmCallFailed", "RunFailed"]
    ended = events[-1]
    assert isinstance(ended, m.RunFailed)
    assert (ended.failure.code, ended.failure.retryable) == ("model_refused", False)
    assert len(endpoint.asked) == 1, "a refused request is not asked again"
    assert run.state().phase is RunPhase.FAILED


def test_the_fallback_model_answers_while_the_primarys_breaker_is_open(kafka, codec, engine):
    with ScriptedEndpoint([Reply(503)]) as endpoint:
        run = _Planner(
            kafka,
            codec,
            engine,
            endpoint,
            llm_fallback_model="backup",
            llm_breaker_failures="1",
            llm_breaker_cooldown_s="600",
        )
        run.start()
        events = run.outcome()
    assert [a.model for a in endpoint.asked] == ["small", "backup"]
    failed = next(e for e in events if isinstance(e, m.LlmCallFailed))
    answered = next(e for e in events if isinstance(e, m.LlmCallRecorded))
    assert (failed.model, answered.model) == ("small", "backup")
    assert _types(events)[-1] == "RunCompleted"


def test_a_run_left_waiting_for_its_model_is_asked_again_by_the_next_planner(kafka, codec, engine):
    stalls = {"redrive_after_s": "0.5", "redrive_interval_s": "0.1"}
    with ScriptedEndpoint([Reply(503)]) as endpoint:
        run = _Planner(kafka, codec, engine, endpoint, **stalls)
        run.start(llm_backoff_s="600")  # the retry would come long after this planner stops
        run.submit()
        deadline = time.monotonic() + 20
        while not endpoint.asked and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # its failure published, and the run stalled: asked already, not again
        run.stop()
        assert len(endpoint.asked) == 1
        run.start()  # the next planner finds the run stalled, waiting for its model
        events = run.outcome()
    assert _types(events)[-2:] == ["LlmCallRecorded", "RunCompleted"]
    assert len(endpoint.asked) == 2


def _turns(kafka, codec, store: Store, endpoint: ScriptedEndpoint) -> ModelTurns:
    """The planner's model calls alone, on the test's broker and store."""
    port = OpenAiCompatible(endpoint.base_url, timeout_s=5)
    calls = ModelCalls(
        store,
        InProcessHotState(),
        port,
        cache_ttl_s=60,
        claims=ClaimCheck(store.payloads, above_bytes=1_000_000),
    )
    endpoints = Endpoints(Endpoint("primary", port), breaker=BreakerConfig(), clock=utc_now)
    return ModelTurns(
        calls,
        endpoints,
        [],
        retry=ModelRetry(),
        prices=DEFAULT_PRICES,
        identity=TEST_PRODUCER,
        publisher=Publisher(EventProducer(kafka, codec, client_id="model")),
        clock=utc_now,
    )


def _answers(kafka, codec, run_id: str, count: int) -> list[m.LlmCallRecorded]:
    records = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), count)
    return [
        e for e in map(codec.decode, (r.value() for r in records)) if e.envelope.run_id == run_id
    ]


def test_a_turn_asked_for_again_reaches_the_model_once_even_after_a_restart(kafka, codec, engine):
    store = Store(engine)
    waiting, _ = decide(None, _goal(f"again-{kafka.topic_prefix}"), llm_ctx())
    assert waiting is not None
    with ScriptedEndpoint() as endpoint:
        for expected in (1, 2):  # a second process: the same turn asked again
            turns, stop = _turns(kafka, codec, store, endpoint), threading.Event()
            worker = threading.Thread(target=turns.run, args=(stop,))
            worker.start()
            try:
                turns.ask([waiting, waiting])  # a redelivered batch asks again
                answers = _answers(kafka, codec, waiting.run_id, expected)
            finally:
                stop.set()
                worker.join()
            assert len(answers) == expected
        assert len(endpoint.asked) == 1, "the second answer came from the ledger"
    first, again = answers
    assert first.envelope.event_id == again.envelope.event_id
    # Read back from the ledger, it is the same answer, billed as it was first obtained.
    assert (first.cached, again.cached) == (False, False)
    assert first.cost_micros == again.cost_micros
