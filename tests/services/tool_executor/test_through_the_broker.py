"""The executor as a service: real broker, PostgreSQL and Redis, one consumer group for all."""

import time
import uuid
from datetime import timedelta

import pytest

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.contracts.models import (
    DeadLettered,
    DecisionOutcome,
    ToolCallCompleted,
)
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.demo.tools import demo_registry
from agentdeck.hotstate import open_hot_state
from agentdeck.kafka import Topic
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import Store, migrate
from agentdeck.tool_executor.adapters.effects import EffectLedger
from agentdeck.tool_executor.main import build
from testkit.authority import WriterProducer
from testkit.kafka import read_topic
from testkit.sql import Databases

pytestmark = pytest.mark.integration

LOOKUP = {"order_id": "1042"}

EFFECTS = EffectLedger()


@pytest.fixture
def pg_store(pg_admin, tmp_path):  # type: ignore[no-untyped-def]
    databases = Databases("postgresql", tmp_path, pg_admin)
    engine = databases.new_engine()
    migrate(engine, *SERVICE_SCHEMAS)
    yield Store(engine)
    databases.close()


def _decode(codec, messages):  # type: ignore[no-untyped-def]
    return [codec.decode(m.value()) for m in messages]


def _wait_for(read, count, timeout_s=40.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    found = read()
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        found = read()
    return found


def test_the_executor_runs_what_is_signed_and_dead_letters_what_is_not(
    kafka, codec, authority, pg_store
):
    desk = SqlDesk(pg_store)
    desk.seed()
    hot = open_hot_state("redis://127.0.0.1:6379/0", prefix=f"t-exec-{uuid.uuid4().hex[:8]}")
    settings = authority.settings(kafka=kafka, consumer_group=f"g-{uuid.uuid4().hex[:8]}")
    tools = demo_registry(desk, credential_public_keys=authority.credential_public_keys())
    runner = build(settings, codec=codec, store=pg_store, hot=hot, tools=tools)

    refund_args = {"order_id": "2077", "amount_cents": 7000, "reason": "arrived broken"}
    allowed = authority.decision("lookup_order", LOOKUP)
    replay = authority.decision("lookup_order", LOOKUP, run_id=allowed.envelope.run_id, nonce="2")
    forged = authority.decision(
        "lookup_order", LOOKUP, signer=Signer("policy-1", generate_private_key())
    )
    unsigned = authority.decision("lookup_order", LOOKUP).model_copy(update={"signature": b""})
    expired = authority.decision("lookup_order", LOOKUP, expires_in=timedelta(seconds=-5))
    swapped = authority.decision("lookup_order", LOOKUP).model_copy(
        update={"arguments_json": '{"order_id":"3001"}'}
    )
    parked = authority.decision(
        "create_refund", refund_args, outcome=DecisionOutcome.REQUIRE_APPROVAL
    )
    forger = Signer("approval-1", generate_private_key())
    forged_grant = authority.grant(parked, signer=forger, approver="mallory")
    last = authority.decision("lookup_order", {"order_id": "3001"})

    producer = WriterProducer(kafka, codec, client_id="test-executor")
    producer.send_all([allowed, allowed, replay, forged, unsigned, expired, swapped, parked])
    producer.send_all([forged_grant, authority.grant(parked), last])
    producer.flush()
    producer.close()

    runner.start()
    try:
        results_topic = Topic.TOOL_RESULTS.full(kafka.topic_prefix)
        dead_topic = Topic.DEAD_LETTERS.full(kafka.topic_prefix)
        results = _decode(codec, read_topic(kafka, results_topic, 3, timeout_s=40))
        letters = _decode(codec, _wait_for(lambda: read_topic(kafka, dead_topic, 6, 1), 6))
    finally:
        runner.stop()
        hot.close()

    by_run: dict[str, list[type]] = {}
    for event in results:
        by_run.setdefault(event.envelope.run_id, []).append(type(event))
    for decision in (allowed, parked, last):
        assert by_run[decision.envelope.run_id] == [ToolCallCompleted]
    assert all(isinstance(e, DeadLettered) for e in letters)
    codes = sorted(e.failure.code for e in letters)
    assert codes == sorted(
        [
            "decision_replayed",
            "bad_signature",
            "bad_signature",
            "decision_expired",
            "arguments_mismatch",
            "bad_signature",  # the forged grant
        ]
    )
    refunds = [r for r in desk.refunds() if r.order_id == "2077"]
    assert [r.amount_cents for r in refunds] == [7000]
    with pg_store.transaction(read_only=True) as conn:
        entry = EFFECTS.get(conn, allowed.idempotency_key)
    assert (entry.status.value, entry.attempt) == ("completed", 1)
