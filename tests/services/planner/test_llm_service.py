"""The LLM planner through the broker, against a scripted OpenAI-compatible endpoint."""

import json

from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.kafka import Topic
from agentdeck.planner.core import RunPhase
from agentdeck.store import Store
from testkit.authority import WriterProducer
from testkit.kafka import NOW, TEST_PRODUCER, read_topic
from testkit.privacy import opening

from .test_service import _allow, _done, planner, run_states


def _goal(run_id: str) -> m.GoalSubmitted:
    env = envelope_for(
        m.GoalSubmitted,
        event_id=deterministic_id("llm-goal", run_id),
        tenant="acme",
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run_id,
    )
    return m.GoalSubmitted(
        envelope=env,
        goal="Tell the customer where order 1042 is",
        requested_by="crm",
        limits=m.RunLimits(),
    )


def test_a_goal_without_playbook_is_planned_by_the_model_and_every_answer_recorded(
    kafka, codec, engine
):
    store = Store(engine)
    codec = opening(codec, store)
    producer = WriterProducer(kafka, codec, client_id="others")
    run_id = f"llm-{kafka.topic_prefix}"
    with ScriptedModel() as model:
        runner = planner(kafka, codec, store, llm_base_url=model.base_url)
        runner.start()
        try:
            producer.send(_goal(run_id))
            producer.flush()
            tool_calls = Topic.TOOL_CALLS.full(kafka.topic_prefix)
            outputs = {
                "lookup_order": {"status": "shipped"},
                "draft_email": {"to": "kim@example.com", "subject": "s", "body": "b"},
            }
            for n, tool in enumerate(("lookup_order", "draft_email"), start=1):
                req = codec.decode(read_topic(kafka, tool_calls, n)[-1].value())
                assert isinstance(req, m.ToolCallRequested)
                assert req.tool == tool
                producer.send(_allow(req))
                producer.send(_done(req, outputs[tool]))
                producer.flush()
            runs = [
                codec.decode(r.value())
                for r in read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 5, timeout_s=20)
            ]
        finally:
            runner.stop()
        asked = len(model.requests)
    recorded = [e for e in runs if isinstance(e, m.LlmCallRecorded)]
    assert next(type(e).__name__ for e in runs) == "RunStarted"
    assert len(recorded) == 3 == asked, "one model call per turn, each recorded"
    assert recorded[0].model == "small"
    last_request = json.loads(recorded[-1].request_json)
    assert [msg["role"] for msg in last_request["messages"]][-1] == "tool"
    completed = next(e for e in runs if isinstance(e, m.RunCompleted))
    assert "drafted" in json.loads(completed.output_json)["answer"]
    assert completed.tokens == sum(r.prompt_tokens + r.completion_tokens for r in recorded)
    with store.transaction(read_only=True) as conn:
        state = run_states(codec, store).load(conn, [run_id])[run_id]
    assert state.phase is RunPhase.COMPLETED
