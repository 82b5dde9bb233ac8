"""The planner as a service: real broker, real store, other services' events published by hand."""

import json

from pydantic import BaseModel

from agentdeck.contracts import deterministic_id, envelope_for, follow_up
from agentdeck.contracts import models as m
from agentdeck.hotstate import InProcessHotState
from agentdeck.kafka import Topic
from agentdeck.planner.adapters.runs import RunStates
from agentdeck.planner.core import RunPhase
from agentdeck.planner.main import build
from agentdeck.planner.settings import PlannerSettings
from agentdeck.privacy import sealing_codec
from agentdeck.runtime import ServiceRunner
from agentdeck.store import Store
from agentdeck.tools import SideEffect, ToolContext, ToolRegistry
from testkit.authority import WriterProducer
from testkit.kafka import NOW, TEST_PRODUCER, read_topic
from testkit.producers import registry


class Anything(BaseModel):
    model_config = {"extra": "allow"}


def _registry() -> ToolRegistry:
    registry = ToolRegistry()
    for name, effect in (
        ("lookup_order", SideEffect.READ),
        ("create_refund", SideEffect.WRITE),
        ("draft_email", SideEffect.READ),
        ("send_email", SideEffect.IRREVERSIBLE),
    ):

        def call(args: Anything, ctx: ToolContext) -> Anything:
            return args

        registry.tool(name=name, version="1", side_effect=effect, max_cost_micros=100)(call)
    return registry


def _goal(run_id: str) -> m.GoalSubmitted:
    env = envelope_for(
        m.GoalSubmitted,
        event_id=deterministic_id("goal", run_id),
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run_id,
    )
    inputs = {"order_id": "1042", "amount_cents": 2000, "reason": "damaged"}
    return m.GoalSubmitted(
        envelope=env,
        goal="refund",
        inputs_json=json.dumps(inputs),
        playbook="refund-order",
        requested_by="crm",
        limits=m.RunLimits(),
    )


def _allow(req: m.ToolCallRequested) -> m.PolicyDecided:
    return m.PolicyDecided(
        envelope=follow_up(req, m.PolicyDecided, producer=TEST_PRODUCER, occurred_at=NOW),
        decision_id="d",
        request_id=req.envelope.event_id,
        tool=req.tool,
        arguments_hash=req.arguments_hash,
        outcome=m.DecisionOutcome.ALLOW,
        reason="ok",
        bundle_version="1",
        bundle_digest="x",
        key_id="k",
        signature=b"s",
    )


def _done(req: m.ToolCallRequested, output: dict[str, object]) -> m.ToolCallCompleted:
    return m.ToolCallCompleted(
        envelope=follow_up(req, m.ToolCallCompleted, producer=TEST_PRODUCER, occurred_at=NOW),
        tool=req.tool,
        idempotency_key=req.idempotency_key,
        output_json=json.dumps(output),
        output_hash="h",
        cost_micros=50,
        duration_ms=1,
        provenance=m.Provenance(source="t", fetched_at=NOW, tool_version="1"),
    )


OUTPUTS = {
    "lookup_order": {
        "customer_email": "kim@example.com",
        "refundable_cents": 4200,
        "currency": "USD",
    },
    "create_refund": {"refund_id": "rf-9"},
    "draft_email": {"to": "kim@example.com", "subject": "s", "body": "b"},
}


def planner(kafka, codec, store: Store, **settings: str) -> ServiceRunner:
    """The planner on the test's topics and store, admitting the test producer's goals."""
    group = f"{kafka.topic_prefix}-planner"
    return build(
        PlannerSettings(kafka=kafka, consumer_group=group, **settings),
        codec=codec,
        store=store,
        hot=InProcessHotState(),
        tools=_registry(),
        producers=registry(),
    )


def run_states(codec, store: Store) -> RunStates:
    """The planner's run states, opened as the planner opens them."""
    return RunStates(store, cipher=sealing_codec(codec, PlannerSettings().privacy, store).cipher)


def test_the_planner_carries_a_goal_to_completion_through_the_broker(kafka, codec, engine):
    store = Store(engine)
    runner = planner(kafka, codec, store)
    producer = WriterProducer(kafka, codec, client_id="others")
    run_id = f"run-{kafka.topic_prefix}"
    runner.start()
    try:
        producer.send(_goal(run_id))
        producer.flush()
        tool_calls = Topic.TOOL_CALLS.full(kafka.topic_prefix)
        for n, tool in enumerate(("lookup_order", "create_refund", "draft_email"), start=1):
            requests = [codec.decode(r.value()) for r in read_topic(kafka, tool_calls, n)]
            req = requests[-1]
            assert isinstance(req, m.ToolCallRequested)
            assert req.tool == tool
            producer.send(_allow(req))
            producer.send(_done(req, OUTPUTS[tool]))
            producer.flush()
        runs = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 3, timeout_s=20)
    finally:
        runner.stop()
    kinds = [type(codec.decode(r.value())).__name__ for r in runs]
    assert kinds == ["RunStarted", "PlanProposed", "RunCompleted"]
    with store.transaction(read_only=True) as conn:
        state = run_states(codec, store).load(conn, [run_id])[run_id]
    assert (state.phase, state.tool_calls, f"{state.playbook}@{state.playbook_version}") == (
        RunPhase.COMPLETED,
        3,
        "refund-order@2",
    )


def _cancel(run_id: str) -> m.KillSwitchSet:
    return m.KillSwitchSet(
        envelope=envelope_for(
            m.KillSwitchSet,
            event_id=deterministic_id("cancel", run_id),
            tenant="acme",
            producer=TEST_PRODUCER,
            occurred_at=NOW,
            run_id=run_id,
        ),
        scope=m.KillSwitchScope.RUN,
        target=run_id,
        engaged=True,
        set_by="operator-1",
        reason="customer withdrew",
    )


def test_the_planner_ends_a_run_cancelled_on_the_control_topic_with_nothing_in_flight(
    kafka, codec, engine
):
    store = Store(engine)
    runner = planner(kafka, codec, store)
    producer = WriterProducer(kafka, codec, client_id="others")
    run_id = f"run-{kafka.topic_prefix}-cancel"
    runner.start()
    try:
        producer.send(_goal(run_id))
        producer.flush()
        tool_calls = Topic.TOOL_CALLS.full(kafka.topic_prefix)
        [lookup] = [codec.decode(r.value()) for r in read_topic(kafka, tool_calls, 1)]
        assert isinstance(lookup, m.ToolCallRequested)
        producer.send(_cancel(run_id))  # nothing answers the lookup: only the switch arrives
        producer.flush()
        runs = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 3, timeout_s=20)
    finally:
        runner.stop()
    opening = sealing_codec(codec, PlannerSettings().privacy, store)  # the reason is sealed
    events = [opening.decode(r.value()) for r in runs]
    assert [type(e).__name__ for e in events] == ["RunStarted", "PlanProposed", "RunCancelled"]
    cancelled = events[-1]
    assert isinstance(cancelled, m.RunCancelled)
    assert (cancelled.reason, cancelled.cancelled_by) == ("customer withdrew", "operator-1")
    with store.transaction(read_only=True) as conn:
        state = run_states(codec, store).load(conn, [run_id])[run_id]
    assert state.phase is RunPhase.CANCELLED
