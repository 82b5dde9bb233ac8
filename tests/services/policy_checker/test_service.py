"""The policy-checker as a service: real broker, PostgreSQL and Redis; other services by hand."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from agentdeck.contracts import Codec, Event
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.hotstate import HotState
from agentdeck.kafka import EventProducer, Topic
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.adapters.counters import ShadowCounter
from agentdeck.policy_checker.adapters.switchboard import Switchboard
from agentdeck.policy_checker.main import DEMO_BUNDLE, build
from agentdeck.policy_checker.settings import PolicyCheckerSettings
from agentdeck.runtime import ServiceRunner
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer, Verifier, decision_message, generate_private_key
from agentdeck.store import Store
from testkit.authority import WriterProducer
from testkit.controls import kill_switch
from testkit.kafka import read_topic

from ._support import completed, refund, requested, unique

pytestmark = pytest.mark.integration

PRIVATE = generate_private_key()
VERIFIER = Verifier({"policy-1": Signer("policy-1", PRIVATE).public_key_b64()})
DEMO_MAX_COST = 5_000  # create_refund's maximum cost in the demo contracts, micro-USD
LOOKUP_MAX_COST = 500  # lookup_order's

BUDGETS = BudgetsRepository()


def _runner(
    kafka: KafkaSettings,
    codec: Codec,
    store: Store,
    hot: HotState,
    *,
    group: str,
    budgets: dict[str, int],
    shadow: str = "",
) -> ServiceRunner:
    settings = PolicyCheckerSettings(
        kafka=kafka,
        consumer_group=group,
        signing_key=SecretStr(PRIVATE),
        tenant_budgets_micros=budgets,
        shadow_bundle_dir=shadow,
    )
    return build(settings, codec=codec, store=store, hot=hot, tools=demo_registry())


@contextmanager
def _running(*runners: ServiceRunner) -> Iterator[None]:
    for runner in runners:
        runner.start()
    try:
        yield
    finally:
        for runner in runners:
            runner.stop()


def _decisions(kafka: KafkaSettings, codec: Codec, count: int) -> list[Event]:
    """The first ``count`` events of the decisions topic (fewer if they do not come)."""
    records = read_topic(kafka, Topic.DECISIONS.full(kafka.topic_prefix), count)
    return [codec.decode(r.value() or b"") for r in records]


def _wait(what: str, done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _budget(store: Store, tenant: str) -> tuple[Decimal, Decimal, Decimal]:
    with store.transaction(read_only=True) as conn:
        found = BUDGETS.get(conn, core.tenant_scope(tenant))
    assert found is not None
    return found.limit, found.reserved, found.spent


def _of(events: Sequence[Event], kind: type[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def test_requests_are_decided_signed_reserved_settled_and_stopped_by_a_kill_switch(
    kafka: KafkaSettings, codec: Codec, pg_store: Store, redis_hot: HotState, tmp_path: Path
) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(DEMO_BUNDLE, candidate)
    refunds = candidate / "policies" / "refunds.cedar"
    refunds.write_text(refunds.read_text().replace("<= 5000\n", "<= 1000\n"))
    tenant = unique("tenant")
    runner = _runner(
        kafka,
        codec,
        pg_store,
        redis_hot,
        group=unique("pc"),
        budgets={tenant: 1_000_000},
        shadow=str(candidate),
    )
    producer = WriterProducer(kafka, codec, client_id="test")
    first = refund(2000, tenant=tenant)
    with _running(runner):
        producer.send(first)
        producer.flush()
        (decided,) = _decisions(kafka, codec, 1)
        assert isinstance(decided, m.PolicyDecided)
        assert decided.budget_remaining_micros == 1_000_000 - DEMO_MAX_COST
        assert decided.outcome is m.DecisionOutcome.ALLOW
        assert decided.matched_policies == ("refund-auto-approved",)
        assert VERIFIER.verify(decided.key_id, decision_message(decided), decided.signature)
        assert _budget(pg_store, tenant) == (Decimal(1), Decimal("0.005"), Decimal(0))

        producer.send(completed(first, 3_000))
        producer.flush()
        _wait("the settlement to commit", lambda: _budget(pg_store, tenant)[2] > 0)
        assert _budget(pg_store, tenant) == (Decimal(1), Decimal(0), Decimal("0.003"))

        producer.send(kill_switch(m.KillSwitchScope.TENANT, tenant))
        producer.flush()
        switchboard = Switchboard()

        def recorded() -> bool:
            with pg_store.transaction(read_only=True) as conn:
                return any(s.target == tenant for s in switchboard.all(conn))

        _wait("the kill switch to be recorded", recorded)
        blocked = refund(2000, tenant=tenant)
        producer.send(blocked)
        producer.flush()
        # Decisions come from several partitions: pick the one for this request.
        stopped = next(
            d
            for d in _of(_decisions(kafka, codec, 2), m.PolicyDecided)
            if d.request_id == blocked.envelope.event_id
        )
        assert isinstance(stopped, m.PolicyDecided)
        assert stopped.outcome is m.DecisionOutcome.DENY
        assert stopped.matched_policies == ("kill-switch-engaged",)
        assert VERIFIER.verify(stopped.key_id, decision_message(stopped), stopped.signature)

    shadow = ShadowCounter(redis_hot, load_bundle(candidate).bundle.digest)
    assert (shadow.evaluated(), shadow.divergent()) == (2, 1)


def _lookup(tenant: str) -> m.ToolCallRequested:
    """A read of a run of its own (runs spread over the partitions), far below its rate limit."""
    return requested(
        "lookup_order", {"order_id": "1"}, tenant=tenant, side_effect=m.SideEffect.READ
    )


def _warm_up(replicas: Sequence[ServiceRunner], producer: EventProducer, tenant: str) -> int:
    """Send calls of another tenant until every replica has decided some; how many were sent."""
    sent, deadline = 0, time.monotonic() + 30
    while not all(r.stats()["decide"].handled > 0 for r in replicas):
        assert time.monotonic() < deadline, "the replicas never shared the partitions"
        for _ in range(6):
            producer.send(_lookup(tenant))
        producer.flush()
        sent += 6
        time.sleep(0.3)
    return sent


def test_two_replicas_racing_for_the_last_budget_never_hold_more_than_it(
    kafka: KafkaSettings, codec: Codec, pg_store: Store, redis_hot: HotState
) -> None:
    tenant, warmup, group = unique("tenant"), unique("warmup"), unique("pc")
    affordable, requests = 5, 30  # 30 runs: every partition, so both replicas, gets some
    budgets = {tenant: affordable * LOOKUP_MAX_COST, warmup: 1_000_000}
    replicas = [
        _runner(kafka, codec, pg_store, redis_hot, group=group, budgets=budgets) for _ in range(2)
    ]
    producer = WriterProducer(kafka, codec, client_id="test")
    with _running(*replicas):
        warm = _warm_up(replicas, producer, warmup)
        handled = [r.stats()["decide"].handled for r in replicas]
        for _ in range(requests):
            producer.send(_lookup(tenant))
        producer.flush()
        events = _decisions(kafka, codec, 2 * warm + requests + affordable)
        raced = [
            r.stats()["decide"].handled - before
            for r, before in zip(replicas, handled, strict=True)
        ]
    decisions = {
        e.decision_id: e
        for e in events
        if isinstance(e, m.PolicyDecided) and e.envelope.tenant == tenant
    }
    outcomes = [d.outcome for d in decisions.values()]
    assert len(decisions) == requests
    assert outcomes.count(m.DecisionOutcome.ALLOW) == affordable
    denied = [d for d in decisions.values() if d.outcome is m.DecisionOutcome.DENY]
    assert {d.matched_policies[0] for d in denied} <= {core.BUDGET, "budget-exhausted"}
    assert _budget(pg_store, tenant) == (Decimal("0.0025"), Decimal("0.0025"), Decimal(0))
    assert all(n > 0 for n in raced), f"one replica decided the whole race: {raced}"
