"""Guardrails end to end: budgets, kill switches, and bad input that never stops a service."""

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec, deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.embedded_stack.goals import CLI, goal_event
from agentdeck.kafka import EventProducer, Topic
from agentdeck.policy_checker.adapters.tables import SwitchRow
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer
from agentdeck.telemetry.core.runs import RunStatus
from testkit.kafka import read_topic, wait_until

REFUND = {"order_id": "1042", "amount_cents": 1000, "reason": "late"}


def _failure(platform, run_id):
    codec = platform.codec()  # failure messages are sealed like other free text
    with platform.stack.store.transaction(read_only=True) as conn:
        for archived in platform.stack.store.archive.read_run(conn, run_id):
            event = codec.decode(archived.payload)
            if isinstance(event, m.RunFailed):
                return event.failure
    return None


def _submit(platform, run_id, *, tenant="acme", limits=None, **changes):
    event = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs=REFUND,
        tenant=tenant,
        run_id=run_id,
        requested_by="crm",
        limits=limits or m.RunLimits(),
    )
    publish_goal(platform.info, event.model_copy(update=changes))
    return run_id


def _settle(platform, run_id):
    return wait_for_outcomes(platform.stack.store, [run_id], timeout_s=60)[run_id]


def test_a_run_over_its_budget_is_stopped_before_the_expensive_call(platform):
    run = _submit(platform, "budget-run", limits=m.RunLimits(max_cost_micros=500))
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert failure.code == "budget_exceeded"
    assert failure.remediation


@pytest.mark.latency
def test_a_kill_switch_stops_new_calls_within_a_second(platform):
    kafka = KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )
    operator = Signer("operator-1", platform.keys.operator_private)
    producer = EventProducer(kafka, default_codec(), client_id="ops", signer=operator)
    # Measured once the platform is warm: a first switch, for a tenant nobody uses, is
    # waited for without a bound (a fresh platform's consumers may still be joining).
    producer.send(_kill_switch("warm-up"))
    producer.flush()
    wait_until(lambda: _engaged(platform, "warm-up"), 30, "the first switch applied")
    producer.send(_kill_switch("halted"))
    producer.flush()
    sent = time.monotonic()
    while not _engaged(platform, "halted"):  # the policy-checker has it
        assert time.monotonic() - sent < 1.0, "the switch took over a second to apply"
        time.sleep(0.02)
    run = _submit(platform, "killed-run", tenant="halted")
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert failure.code == "policy_denied"
    assert "incident 42" in failure.message, failure.message
    other = _submit(platform, "unaffected-run", tenant="acme")
    assert _settle(platform, other).status is RunStatus.COMPLETED, "other tenants go on"


def _kill_switch(tenant: str) -> m.KillSwitchSet:
    return m.KillSwitchSet(
        envelope=envelope_for(
            m.KillSwitchSet,
            event_id=deterministic_id("kill", "e2e", tenant),
            tenant=tenant,
            producer=CLI,
            occurred_at=datetime.now(UTC),
        ),
        scope=m.KillSwitchScope.TENANT,
        target=tenant,
        engaged=True,
        set_by="ops",
        reason="incident 42",
    )


def _engaged(platform, tenant):
    with platform.stack.store.transaction(read_only=True) as conn:
        found = conn.execute(
            select(SwitchRow.engaged).where(
                SwitchRow.scope == m.KillSwitchScope.TENANT.value, SwitchRow.target == tenant
            )
        ).scalar()
    return bool(found)


def test_a_malformed_goal_fails_with_a_machine_readable_reason(platform):
    run = _submit(platform, "malformed-run", inputs_json="{not json")
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert (failure.code, failure.category, failure.retryable) == (
        "invalid_inputs",
        "VALIDATION",
        False,
    )


def test_garbage_on_the_goals_topic_is_dead_lettered_and_the_planner_goes_on(platform):
    kafka = KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )
    producer = EventProducer(kafka, default_codec(), client_id="garbage")
    producer.send_raw(Topic.GOALS.full(kafka.topic_prefix), b"{'goal': 'not avro'}", b"x", [])
    producer.flush()
    run = _submit(platform, "after-garbage-run")
    assert _settle(platform, run).status is RunStatus.COMPLETED
    letters = read_topic(kafka, Topic.DEAD_LETTERS.full(kafka.topic_prefix), 10, timeout_s=5)
    decoded = [default_codec().decode(x.value()) for x in letters]
    ours = [
        d
        for d in decoded
        if isinstance(d, m.DeadLettered) and d.original_value == b"{'goal': 'not avro'}"
    ]
    assert ours, "the garbage is in the dead-letter topic"
    assert {d.failure.code for d in ours} == {"bad_marker"}
    assert json.loads(json.dumps(ours[0].failure.remediation))


def _submit_llm(platform, run_id, goal):
    event = goal_event(
        goal=goal,
        playbook=None,
        inputs={},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    return run_id


def test_a_model_repeating_the_same_call_is_stopped_as_a_loop(platform):
    run = _submit_llm(platform, "loop-run", "keep checking order 3001 until it changes")
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert failure.code == "loop_detected"


def test_a_model_asking_for_an_unknown_tool_gets_a_machine_readable_failure(platform):
    run = _submit_llm(platform, "unknown-tool-run", "wipe the order database")
    assert _settle(platform, run).status is RunStatus.FAILED
    failure = _failure(platform, run)
    assert failure is not None
    assert (failure.code, failure.retryable) == ("unknown_tool", False)
    assert "lookup_order" in failure.remediation[0]


def test_the_readme_submit_inputs_run_even_with_a_numeric_order_id(platform):
    from agentdeck.cli.submit import parse_inputs

    inputs = parse_inputs(["order_id=1042", "amount_cents=500", "reason=late"], None)
    assert inputs["order_id"] == 1042, "the CLI parses JSON values"
    event = goal_event(
        goal="Refund order 1042",
        playbook="refund-order",
        inputs=inputs,
        tenant="acme",
        run_id="readme-submit-run",
        requested_by="cli",
        limits=m.RunLimits(),
    )
    publish_goal(platform.info, event)
    assert _settle(platform, "readme-submit-run").status is RunStatus.COMPLETED
