"""Builders shared by the approval service's tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from agentdeck.approval.adapters.auth import token_hash
from agentdeck.approval.core import OutcomeEvent, Principal, Rules
from agentdeck.approval.main import build
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.contracts import Codec, deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.embedded import free_port
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.hotstate import InProcessHotState
from agentdeck.ids import approval_id_for, decision_id_for
from agentdeck.kafka import Topic
from agentdeck.runtime import Clock, ServiceRunner, utc_now
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer, Verifier, approval_outcome_message, generate_private_key
from agentdeck.store import Store
from testkit.authority import WriterProducer
from testkit.kafka import NOW, TEST_PRODUCER, read_topic
from testkit.privacy import opening

MakeDecision = Callable[..., m.PolicyDecided]


def decision(
    *,
    run_id: str | None = None,
    tool: str = "create_refund",
    arguments: dict[str, Any] | None = None,
    agent: str | None = "support-bot",
    tenant: str = "acme",
    outcome: m.DecisionOutcome = m.DecisionOutcome.REQUIRE_APPROVAL,
    matched: tuple[str, ...] = ("refund-needs-approval",),
    reason: str = "refunds above $50 need a human",
) -> m.PolicyDecided:
    """A REQUIRE_APPROVAL decision of a fresh run, unless told otherwise."""
    run = run_id or f"run-{uuid.uuid4().hex[:12]}"
    args = canonical_json(arguments or {"order_id": "1042", "amount_cents": 25000})
    request_id = deterministic_id("request", run)
    decision_id = decision_id_for(request_id)
    env = envelope_for(
        m.PolicyDecided,
        event_id=deterministic_id("decided", run),
        tenant=tenant,
        producer=TEST_PRODUCER,
        occurred_at=NOW,
        run_id=run,
        step_id="refund",
        agent=agent,
        causation_id=request_id,
    )
    return m.PolicyDecided(
        envelope=env,
        decision_id=decision_id,
        request_id=request_id,
        tool=tool,
        arguments_hash=sha256_hex(args),
        outcome=outcome,
        matched_policies=matched,
        reason=reason,
        bundle_version="v1",
        bundle_digest="digest",
        key_id="policy-1",
        signature=b"sig",
        arguments_json=args,
        approval_id=approval_id_for(decision_id)
        if outcome is m.DecisionOutcome.REQUIRE_APPROVAL
        else None,
    )


@pytest.fixture
def make_decision() -> MakeDecision:
    """Builds PolicyDecided events (see :func:`decision`)."""
    return decision


@pytest.fixture
def rules() -> Rules:
    """One hour to decide, escalation after half of it, two finance approvers for high risk."""
    return Rules(
        deadline=timedelta(hours=1),
        escalate_after=timedelta(minutes=30),
        default_band="medium",
        band_roles={"medium": "support-lead", "high": "finance"},
        quorum={"high": 2},
        escalation_chain=("support-lead", "finance"),
    )


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def principal(name: str, *roles: str, tenants: tuple[str, ...] = ("acme",)) -> Principal:
    """An approver holding ``roles`` for ``tenants``."""
    return Principal(name=name, roles=frozenset(roles), tenants=frozenset(tenants))


def tokens() -> dict[str, Principal]:
    """Acme's two support leads, two finance approvers and requesting agent; a globex lead."""
    return {
        "tok-alice": principal("alice", "support-lead"),
        "tok-carol": principal("carol", "support-lead"),
        "tok-bob": principal("bob", "finance"),
        "tok-dave": principal("dave", "finance"),
        "tok-support-bot": principal("support-bot", "support-lead"),
        "tok-erin": principal("erin", "support-lead", tenants=("globex",)),
    }


def approvers() -> dict[str, Principal]:
    """:func:`tokens` as the service's settings hold them: by the hash of each token."""
    return {token_hash(token): who for token, who in tokens().items()}


@dataclass
class Running:
    """A started approval service and what a test needs to talk to it."""

    runner: ServiceRunner
    base_url: str
    settings: ApprovalSettings


def _start_service(
    kafka: KafkaSettings,
    codec: Codec,
    store: Store,
    signer: Signer,
    *,
    clock: Clock = utc_now,
    **overrides: Any,
) -> Running:
    """Build and start the service on a free port; returns once its API answers."""
    port = free_port()
    settings = ApprovalSettings(
        kafka=kafka,
        consumer_group=f"{kafka.topic_prefix}-approval",
        http_port=port,
        approvers=approvers(),
        allow_static_tokens=True,
        signing_key_id=signer.key_id,
        sweep_interval_s=0.2,
        **overrides,
    )
    runner = build(
        settings, codec=codec, store=store, hot=InProcessHotState(), clock=clock, signer=signer
    )
    runner.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{base_url}/approvals", timeout=1.0)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                runner.stop()
                raise
            time.sleep(0.05)
    return Running(runner, base_url, settings)


def _approval_events(
    kafka: KafkaSettings, codec: Codec, of: Collection[str], count: int, timeout_s: float
) -> list[m.Event]:
    """The first ``count`` events of the approvals topic about approvals ``of``.

    Other approvals may show up: the store database is shared by the session,
    and a service's sweeper expires every overdue approval it finds there.
    """
    topic = Topic.APPROVALS.full(kafka.topic_prefix)
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap_servers, "group.id": "reader", "fetch.wait.max.ms": 5}
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found: list[m.Event] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < count and time.monotonic() < deadline:
            for record in consumer.consume(100, 0.1):
                event = codec.decode(record.value()) if record.error() is None else None
                if event is not None and getattr(event, "approval_id", None) in of:
                    found.append(event)
    finally:
        consumer.close()
    return found


def _publish(kafka: KafkaSettings, codec: Codec, events: list[m.Event]) -> None:
    """Publish ``events`` to their topics and wait for the broker."""
    producer = WriterProducer(kafka, codec, client_id="test-source")
    producer.send_all(events)
    producer.flush()


@pytest.fixture(scope="module")
def signer() -> Signer:
    """The approval service's key in these tests."""
    return Signer("approval-test", generate_private_key())


@dataclass
class Harness:
    """One test's broker topics, signing key and started services."""

    kafka: KafkaSettings
    codec: Codec
    signer: Signer
    started: list[Running] = field(default_factory=list)

    def start(self, store: Store, *, clock: Clock = utc_now, **overrides: Any) -> Running:
        """Build and start the service; it is stopped when the test ends."""
        self.codec = opening(self.codec, store)  # reads what the service sealed in ``store``
        running = _start_service(
            self.kafka, self.codec, store, self.signer, clock=clock, **overrides
        )
        self.started.append(running)
        return running

    def publish(self, events: list[m.Event]) -> None:
        """Publish ``events`` to their topics."""
        _publish(self.kafka, self.codec, events)

    def approvals(
        self, count: int, *, of: Collection[str], timeout_s: float = 30.0
    ) -> list[m.Event]:
        """The first ``count`` approval events about approvals ``of`` (fewer after the timeout)."""
        return _approval_events(self.kafka, self.codec, of, count, timeout_s)

    def dead_letters(self, count: int) -> list[m.Event]:
        """The first ``count`` dead letters."""
        topic = Topic.DEAD_LETTERS.full(self.kafka.topic_prefix)
        return [self.codec.decode(r.value()) for r in read_topic(self.kafka, topic, count)]

    def verifies(self, event: OutcomeEvent) -> bool:
        """Whether ``event`` carries a valid signature of the service's key."""
        verifier = Verifier({self.signer.key_id: self.signer.public_key_b64()})
        return verifier.verify(event.key_id, approval_outcome_message(event), event.signature)


@pytest.fixture
def harness(kafka: KafkaSettings, codec: Codec, signer: Signer) -> Iterator[Harness]:
    """This test's :class:`Harness`; stops every service it started."""
    kit = Harness(kafka, codec, signer)
    yield kit
    for running in kit.started:
        running.runner.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A clock at ``NOW`` that the test moves."""
    return FakeClock(NOW)
