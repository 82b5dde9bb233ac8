"""The planner and claim checks: it reads large tool outputs by reference, and records large
model exchanges by reference."""

import json
import uuid

from agentdeck.claimcheck import ClaimCheck, parse_reference
from agentdeck.contracts import models as m
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.hashing import canonical_json
from agentdeck.hotstate import InProcessHotState
from agentdeck.planner.adapters.model import OpenAiCompatible
from agentdeck.planner.adapters.model_calls import ModelCalls
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.handlers import PlannerHandler
from agentdeck.planner.main import tool_infos
from agentdeck.runtime import transactional
from agentdeck.store import Store
from testkit.kafka import NOW, TEST_PRODUCER
from testkit.producers import registry, signed_inbound

from .test_service import _allow, _done, _goal, _registry


def _handle(handler, *events):  # type: ignore[no-untyped-def]
    outcome = handler([signed_inbound(e) for e in events])
    if outcome.commit is not None:
        outcome.commit()
    return list(outcome.events)


def test_a_tool_output_that_came_by_reference_is_read_in_full(engine):
    store = Store(engine)
    planner = PlannerHandler(
        store=store,
        producers=registry().authenticator(),
        playbooks=bundled_playbooks(),
        tools=tool_infos(_registry()),
        identity=TEST_PRODUCER,
        clock=lambda: NOW,
    )
    handler = transactional(planner, store=store, consumer=f"planner-{uuid.uuid4().hex}")
    run_id = f"run-{uuid.uuid4().hex}"
    [lookup] = [e for e in _handle(handler, _goal(run_id)) if isinstance(e, m.ToolCallRequested)]
    order = {
        "customer_email": "kim@example.com",
        "refundable_cents": 4200,
        "currency": "USD",
        "history": ["an order event of long ago"] * 800,  # about 22 KB
    }
    done = _done(lookup, order)
    with store.transaction() as conn:
        by_reference = ClaimCheck(store.payloads).check_in_event(conn, done)
    assert parse_reference(by_reference.output_json) is not None

    out = _handle(handler, _allow(lookup), by_reference)
    # The refund step runs only if the lookup's output says enough is refundable.
    [refund] = [e for e in out if isinstance(e, m.ToolCallRequested)]
    assert refund.tool == "create_refund"


def test_a_large_model_request_is_recorded_by_reference_in_the_ledgers_transaction(engine):
    store = Store(engine)
    run_id = f"run-{uuid.uuid4().hex}"
    request = {"messages": [{"role": "user", "content": "order 1042 " + "context " * 3_000}]}
    with ScriptedModel() as model:
        calls = ModelCalls(
            store,
            InProcessHotState(),
            OpenAiCompatible(model.base_url),
            cache_ttl_s=60,
            claims=ClaimCheck(store.payloads, above_bytes=16_384),
        )
        answer = calls.answer(run_id, 0, request)
        again = calls.answer(run_id, 0, request)  # a redelivered batch: from the ledger
    ref = parse_reference(answer.recorded_request)
    assert ref is not None
    assert answer.recorded_response == canonical_json(answer.response)  # small: inline
    assert (again.recorded_request, again.recorded_response) == (
        answer.recorded_request,
        answer.recorded_response,
    )
    with store.transaction(read_only=True) as conn:
        assert json.loads(store.payloads.get(conn, ref)) == request
