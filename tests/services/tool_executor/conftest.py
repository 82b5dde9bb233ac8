"""Fixtures of the executor's tests: signing authorities, decisions, a wired handler."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from agentdeck.contracts import Producer, deterministic_id, envelope_for
from agentdeck.contracts.models import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    DecisionOutcome,
    PolicyDecided,
)
from agentdeck.controls import SwitchView
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.demo.tools import demo_registry
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.hotstate import HotState, open_hot_state
from agentdeck.ids import approval_id_for, decision_id_for, idempotency_key_for
from agentdeck.kafka import Inbound, Outcome
from agentdeck.signing import Signer, approval_message, decision_message, generate_private_key
from agentdeck.store import Store
from agentdeck.tool_executor.adapters.running import RunningCalls
from agentdeck.tool_executor.main import build_handler
from agentdeck.tool_executor.settings import ToolExecutorSettings
from agentdeck.tools import ToolRegistry

POLICY = Producer(service="policy-checker", version="1")
APPROVAL = Producer(service="approval", version="1")
REDIS_URL = "redis://127.0.0.1:6379/0"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Authority:
    """Signs decisions as the policy-checker and outcomes as the approval service would."""

    policy: Signer = field(default_factory=lambda: Signer("policy-1", generate_private_key()))
    approvals: Signer = field(default_factory=lambda: Signer("approval-1", generate_private_key()))
    tenant: str = "acme"
    credential_key: str = field(default_factory=generate_private_key)
    """The executor's per-call credential key (private; the desk gets only the public half)."""

    def credential_public_keys(self) -> dict[str, str]:
        return {"executor-1": Signer("executor-1", self.credential_key).public_key_b64()}

    def decision(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        run_id: str | None = None,
        step: str = "s1",
        attempt: int = 1,
        outcome: DecisionOutcome = DecisionOutcome.ALLOW,
        expires_in: timedelta = timedelta(minutes=10),
        signer: Signer | None = None,
        nonce: str = "",
    ) -> PolicyDecided:
        run = run_id or f"run-{uuid.uuid4().hex[:10]}"
        request_id = deterministic_id("request", run, step, str(attempt))
        decision_id = decision_id_for(request_id + nonce)
        arguments = canonical_json(args)
        unsigned = PolicyDecided(
            envelope=envelope_for(
                PolicyDecided,
                event_id=deterministic_id("decided", decision_id),
                tenant=self.tenant,
                producer=POLICY,
                occurred_at=utc_now(),
                run_id=run,
                step_id=step,
            ),
            decision_id=decision_id,
            request_id=request_id,
            tool=tool,
            arguments_hash=sha256_hex(arguments),
            outcome=outcome,
            reason="test policy",
            bundle_version="1",
            bundle_digest="digest",
            key_id=(signer or self.policy).key_id,
            signature=b"",
            arguments_json=arguments,
            idempotency_key=idempotency_key_for(run, step, attempt),
            tool_version="1.0",
            attempt=attempt,
            expires_at=utc_now() + expires_in,
            approval_id=(
                approval_id_for(decision_id)
                if outcome is DecisionOutcome.REQUIRE_APPROVAL
                else None
            ),
        )
        signature = (signer or self.policy).sign(decision_message(unsigned))
        return unsigned.model_copy(update={"signature": signature})

    def grant(
        self,
        decision: PolicyDecided,
        *,
        payload_hash: str | None = None,
        signer: Signer | None = None,
        approver: str = "alice",
    ) -> ApprovalGranted:
        approval_id = decision.approval_id or ""
        payload = payload_hash or decision.arguments_hash
        sign = signer or self.approvals
        return ApprovalGranted(
            envelope=envelope_for(
                ApprovalGranted,
                event_id=deterministic_id("granted", approval_id, approver, payload),
                tenant=self.tenant,
                producer=APPROVAL,
                occurred_at=utc_now(),
                run_id=decision.envelope.run_id,
                step_id=decision.envelope.step_id,
            ),
            approval_id=approval_id,
            payload_hash=payload,
            approver=approver,
            approver_role="support-lead",
            key_id=sign.key_id,
            signature=sign.sign(approval_message(approval_id, payload, "granted", approver)),
        )

    def deny(self, decision: PolicyDecided) -> ApprovalDenied:
        approval_id = decision.approval_id or ""
        payload = decision.arguments_hash
        return ApprovalDenied(
            envelope=envelope_for(
                ApprovalDenied,
                event_id=deterministic_id("denied", approval_id),
                tenant=self.tenant,
                producer=APPROVAL,
                occurred_at=utc_now(),
                run_id=decision.envelope.run_id,
            ),
            approval_id=approval_id,
            payload_hash=payload,
            approver="bob",
            approver_role="support-lead",
            key_id=self.approvals.key_id,
            signature=self.approvals.sign(approval_message(approval_id, payload, "denied", "bob")),
        )

    def expire(self, decision: PolicyDecided) -> ApprovalExpired:
        """The approval service's word that nobody decided in time (the default: deny)."""
        approval_id = decision.approval_id or ""
        payload = decision.arguments_hash
        return ApprovalExpired(
            envelope=envelope_for(
                ApprovalExpired,
                event_id=deterministic_id("expired", approval_id),
                tenant=self.tenant,
                producer=APPROVAL,
                occurred_at=utc_now(),
                run_id=decision.envelope.run_id,
            ),
            approval_id=approval_id,
            payload_hash=payload,
            outcome="deny",
            key_id=self.approvals.key_id,
            signature=self.approvals.sign(approval_message(approval_id, payload, "expired", "")),
        )

    def settings(self, **overrides: Any) -> ToolExecutorSettings:
        values: dict[str, Any] = {
            "policy_verify_key": SecretStr(self.policy.public_key_b64()),
            "approval_verify_key": SecretStr(self.approvals.public_key_b64()),
            "credential_signing_key": SecretStr(self.credential_key),
            "in_flight_grace_s": 0.0,
            "sandbox_cpu_s": 2,
            **overrides,
        }
        return ToolExecutorSettings(**values)


@pytest.fixture(scope="session")
def authority() -> Authority:
    return Authority()


@pytest.fixture
def store(engine) -> Store:  # type: ignore[no-untyped-def]
    return Store(engine)


@pytest.fixture
def hot() -> Iterator[HotState]:
    state = open_hot_state(REDIS_URL, prefix=f"test-executor-{uuid.uuid4().hex[:12]}")
    yield state
    state.close()


@pytest.fixture
def desk(store: Store) -> SqlDesk:
    desk = SqlDesk(store)
    desk.seed()
    return desk


Handle = Callable[..., Outcome]


def caught_up() -> SwitchView:
    """A view of the kill switches that has read the (empty) control topic."""
    view = SwitchView()
    view.mark_caught_up()
    return view


@dataclass
class Executor:
    """A handler wired as ``build`` wires it, driven without a broker."""

    handler: Callable[[list[Inbound]], Outcome]
    store: Store

    def handle(self, *events: Any, commit: bool = True) -> list[Any]:
        """Handle ``events`` as one batch; the outputs, after committing like the loop does."""
        outcome = self.handler([Inbound(e, None) for e in events])  # type: ignore[arg-type]
        if commit and outcome.commit is not None:
            outcome.commit()
        return list(outcome.events)


@pytest.fixture
def make_executor(
    authority: Authority, store: Store, hot: HotState, desk: SqlDesk
) -> Iterator[Callable[..., Executor]]:
    pool = ThreadPoolExecutor(4)

    def make(
        *,
        tools: ToolRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
        switches: SwitchView | None = None,
        running: RunningCalls | None = None,
        **settings: Any,
    ) -> Executor:
        keys = authority.credential_public_keys()
        registry = tools if tools is not None else demo_registry(desk, credential_public_keys=keys)
        handler = build_handler(
            authority.settings(**settings),
            store=store,
            hot=hot,
            tools=registry,
            clock=clock,
            pool=pool,
            switches=switches if switches is not None else caught_up(),
            running=running,
        )
        return Executor(handler, store)

    yield make
    pool.shutdown()
