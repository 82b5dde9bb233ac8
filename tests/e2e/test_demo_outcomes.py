"""Each outcome end to end: the four demo goals, then the approval granted over the HTTP API."""

import json
import uuid

from sqlalchemy import select

from agentdeck.approval import client
from agentdeck.cli.demo import demo_events, output_of, wait_for_outcomes
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import models as m
from agentdeck.contracts.models import RunLimits
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from agentdeck.tool_executor.adapters.tables import EffectRow
from testkit.kafka import wait_until

PROJECTION = RunsRepository()


def test_the_four_demo_goals_reach_their_documented_outcomes_which_metrics_and_costs_cover(
    platform,
):
    events = demo_events("acme", "e2e")
    for _goal, event in events:
        publish_goal(platform.info, event)
    ids = {goal.key: event.envelope.run_id for goal, event in events}
    store = platform.stack.store
    outcomes = wait_for_outcomes(store, list(ids.values()), timeout_s=90)

    assert outcomes[ids["auto"]].status is RunStatus.COMPLETED
    assert output_of(store, codec=platform.codec(), run_id=ids["auto"])["refund_id"]
    assert outcomes[ids["approval"]].status is RunStatus.WAITING_APPROVAL
    assert outcomes[ids["denied"]].status is RunStatus.COMPLETED
    assert output_of(store, codec=platform.codec(), run_id=ids["denied"]) == {
        "order_id": "3001",
        "refund_id": None,
        "handed_over": True,
        "declined": False,
    }
    assert outcomes[ids["llm"]].status is RunStatus.COMPLETED
    assert "answer" in output_of(store, codec=platform.codec(), run_id=ids["llm"])

    pending = [
        p
        for p in client.list_pending(platform.info.approval_url, platform.token("alice"))
        if p.run_id == ids["approval"]
    ]
    assert [p.tool for p in pending] == ["create_refund"]
    try:
        client.approve(platform.info.approval_url, platform.token("crm"), pending[0].approval_id)
    except client.ApprovalApiError as exc:
        assert exc.status == 404  # crm holds no approver role: the approval is not its to see
    else:
        raise AssertionError("the requester's side may not approve")
    client.approve(
        platform.info.approval_url,
        platform.token("alice"),
        pending[0].approval_id,
        "damaged item, refund it",
    )

    def approved_run_completed() -> bool:
        with store.transaction(read_only=True) as conn:
            record = PROJECTION.get(conn, ids["approval"])
        return record is not None and record.status is RunStatus.COMPLETED

    wait_until(approved_run_completed, timeout_s=60, what="the approved run")
    assert output_of(store, codec=platform.codec(), run_id=ids["approval"])["refund_id"]
    _each_side_effect_exactly_once(store, [ids["auto"], ids["approval"]])
    _metrics_and_costs_cover_the_runs(platform)


def test_a_refund_the_order_cannot_cover_is_declined_and_never_claimed(platform):
    run_id = f"too-much-{uuid.uuid4().hex[:8]}"
    event = goal_event(
        goal="Refund order 3001",
        playbook="refund-order",
        inputs={"order_id": "3001", "amount_cents": 10_000_000, "reason": "too much"},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=RunLimits(),
    )
    publish_goal(platform.info, event)
    store = platform.stack.store
    outcome = wait_for_outcomes(store, [run_id], timeout_s=60)[run_id]
    assert outcome.status is RunStatus.COMPLETED
    output = output_of(store, codec=platform.codec(), run_id=run_id)
    assert (output["refund_id"], output["declined"]) == (None, True)
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run_id)
    opened = [platform.codec().decode(a.payload) for a in archived]
    calls = [e for e in opened if isinstance(e, m.ToolCallRequested)]
    assert [c.tool for c in calls] == ["lookup_order", "draft_email"]
    body = json.loads(calls[-1].arguments_json)["body"]
    assert body.startswith("We could not refund 100000.00 USD"), body
    assert not [r for r in SqlDesk(store).refunds() if r.reason == "too much"]


def _each_side_effect_exactly_once(store, run_ids):
    with store.transaction(read_only=True) as conn:
        for run_id in run_ids:
            events = store.archive.read_run(conn, run_id)
            completed = [e for e in events if e.event_type.endswith("ToolCallCompleted")]
            started = conn.execute(
                select(EffectRow.idempotency_key).where(EffectRow.run_id == run_id)
            ).all()  # a call's start is in the effect ledger, not on the wire
            assert len(completed) == len(started) == 3, run_id
    per_order = [r.order_id for r in SqlDesk(store).refunds()]
    assert {"1042", "2077"} <= set(per_order)
    assert per_order.count("2077") == 1, "one refund for the approved run, not two"


def test_every_finished_run_has_one_trace_with_genai_and_kafka_spans(platform):
    from testkit.kafka import wait_until

    run = "traced-run"
    events = demo_events("acme", "traces")
    _goal, event = next((g, e) for g, e in events if g.key == "auto")
    inputs = json.dumps({"order_id": "1042", "amount_cents": 500, "reason": "traced"})
    publish_goal(
        platform.info,
        event.model_copy(
            update={
                "inputs_json": inputs,
                "envelope": event.envelope.model_copy(update={"run_id": run}),
            }
        ),
    )
    wait_for_outcomes(platform.stack.store, [run], timeout_s=60)
    traces = platform.stack.data_dir / "traces.jsonl"

    def spans_of_run() -> list[dict[str, object]]:
        if not traces.exists():
            return []
        lines = [json.loads(line) for line in traces.read_text().splitlines() if line]
        trace = _trace_of(lines, run)
        return [s for s in lines if trace and s["context"]["trace_id"] == trace]

    wait_until(lambda: len(spans_of_run()) >= 7, timeout_s=30, what="the run's trace")
    spans = spans_of_run()
    names = sorted(s["name"] for s in spans)
    assert "invoke_agent support-agent" in names
    assert names.count("execute_tool lookup_order") == 1
    assert names.count("apply_guardrail policy") == 3
    assert len({s["context"]["trace_id"] for s in spans}) == 1, "one trace per run"
    assert event.envelope.traceparent.split("-")[1] in spans[0]["context"]["trace_id"]
    tool = next(s for s in spans if s["name"] == "execute_tool create_refund")
    assert tool["attributes"]["messaging.system"] == "kafka"
    assert tool["attributes"]["gen_ai.tool.name"] == "create_refund"


def _trace_of(lines, run):
    root = next((s for s in lines if s["attributes"].get("agentdeck.run.id") == run), None)
    return root["context"]["trace_id"] if root else None


def _metrics_and_costs_cover_the_runs(platform) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from agentdeck.contracts import default_codec
    from agentdeck.telemetry.adapters.metrics import report_since

    weekly, costs = report_since(
        platform.stack.store, default_codec(), datetime.now(UTC) - timedelta(days=1)
    )
    assert weekly.runs >= 4
    assert 0 < weekly.completion_rate <= 1
    assert weekly.escalation_rate > 0, "the approval run asked a human"
    assert costs.by_tool["create_refund"] > 0
    assert costs.by_model["small"] > 0
    assert costs.by_tenant["acme"] == costs.total_micros
