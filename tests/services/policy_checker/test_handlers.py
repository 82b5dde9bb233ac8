"""The handlers against a real store (SQLite and PostgreSQL), without a broker."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdeck.contracts import Event
from agentdeck.contracts import models as m
from agentdeck.controls import RUN_CANCELLED_POLICY
from agentdeck.errors import RetryableError
from agentdeck.hotstate import InProcessHotState
from agentdeck.kafka import BatchHandler, Outcome
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.adapters.counters import CallCounter, ShadowCounter
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.shadow import Shadow
from agentdeck.policy_checker.adapters.tables import ReservationStatus
from agentdeck.policy_checker.handlers import ControlHandler, DecisionHandler, SettlementHandler
from agentdeck.policy_checker.main import DEMO_BUNDLE, ensure_budgets
from agentdeck.runtime import journaled, transactional
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import Store
from testkit.controls import kill_switch
from testkit.kafka import NOW, TEST_PRODUCER

from ._support import (
    DEMO,
    approval_denied,
    completed,
    failed,
    inbound,
    model_call,
    refund,
    small_registry,
    unique,
)

KEY = Signer("policy-test", generate_private_key())

BUDGETS = BudgetsRepository()


@dataclass
class Checker:
    """The three handlers over one store, driven like the consumer loop drives them."""

    store: Store
    tenant: str
    decide: BatchHandler
    settle: BatchHandler
    control: BatchHandler
    hot: InProcessHotState
    shadow_digest: str = ""
    deciding: DecisionHandler | None = None

    def run(self, handler: object, events: Sequence[Event]) -> list[Event]:
        outcome = handler(inbound(events))  # type: ignore[operator]
        assert isinstance(outcome, Outcome)
        if outcome.commit is not None:
            outcome.commit()
        return list(outcome.events)

    def budget(self) -> tuple[Decimal, Decimal, Decimal]:
        with self.store.transaction(read_only=True) as conn:
            found = BUDGETS.get(conn, core.tenant_scope(self.tenant))
        assert found is not None
        return found.limit, found.reserved, found.spent


def _checker(
    engine: Engine, budget_micros: int, shadow: core.PolicyEngine | None = None
) -> Checker:
    store = Store(engine)
    tenant = unique("tenant")
    ensure_budgets(store, {tenant: budget_micros}, now=NOW)
    hot = InProcessHotState()
    deciding = DecisionHandler(
        engine=DEMO,
        catalog=ToolCatalog(small_registry()),
        counter=CallCounter(hot),
        key=KEY,
        identity=TEST_PRODUCER,
        clock=lambda: NOW,
        ttls=core.Ttls(timedelta(minutes=5), timedelta(hours=24)),
        shadow=Shadow(shadow, hot) if shadow else None,
    )
    decide = journaled(deciding, store=store, consumer=f"{tenant}.decide")
    clock = lambda: NOW  # noqa: E731
    settle = transactional(
        SettlementHandler(clock=clock),
        store=store,
        consumer=f"{tenant}.settle",
    )
    control = transactional(
        ControlHandler(clock=clock),
        store=store,
        consumer=f"{tenant}.control",
    )
    digest = shadow.bundle.digest if shadow else ""
    return Checker(store, tenant, decide, settle, control, hot, digest, deciding)


@pytest.fixture
def checker(engine: Engine) -> Checker:
    """Handlers for a fresh tenant with a $1.00 budget."""
    return _checker(engine, 1_000_000)


def _decisions(events: Sequence[Event]) -> list[m.PolicyDecided]:
    return [e for e in events if isinstance(e, m.PolicyDecided)]


def test_an_allowed_call_is_reserved_before_its_signed_decision_goes_out(checker: Checker) -> None:
    request = refund(2000, tenant=checker.tenant)
    events = checker.run(checker.decide, [request])
    (decision,) = events  # the hold travels in the decision: no BudgetReserved
    assert isinstance(decision, m.PolicyDecided)
    assert decision.outcome is m.DecisionOutcome.ALLOW
    assert decision.max_cost_micros == 400_000
    assert decision.budget_scope == core.tenant_scope(checker.tenant)
    assert decision.budget_remaining_micros == 600_000
    assert decision.run_spent_micros == 0
    assert checker.budget() == (Decimal(1), Decimal("0.4"), Decimal(0))


def test_a_redelivered_request_re_emits_the_journaled_decision_and_holds_nothing_more(
    checker: Checker,
) -> None:
    request = refund(2000, tenant=checker.tenant)
    first = checker.run(checker.decide, [request])
    again = checker.run(checker.decide, [request])
    assert again == first
    assert checker.budget()[1] == Decimal("0.4")


def test_a_hold_planned_on_a_budget_another_replica_took_meanwhile_holds_nothing_and_retries(
    checker: Checker,
) -> None:
    deciding = checker.deciding
    assert deciding is not None
    request = refund(2000, tenant=checker.tenant)
    with checker.store.transaction(read_only=True) as conn:
        loaded = deciding.load(conn, inbound([request]))
    planned = deciding.decide(loaded, inbound([request]))
    assert [e.outcome for e in _decisions(planned.events)] == [m.DecisionOutcome.ALLOW]
    # Meanwhile another replica holds $0.80 of the $1.00 this decision planned on.
    with checker.store.transaction() as conn:
        BUDGETS.reserve(
            conn, core.tenant_scope(checker.tenant), "other-replica", Decimal("0.8"), now=NOW
        )

    with (
        pytest.raises(RetryableError, match="budget held by someone else"),
        checker.store.transaction() as conn,
    ):
        deciding.save(conn, planned)

    assert checker.budget()[1] == Decimal("0.8"), "nothing of the lost plan is held"
    (decision,) = _decisions(checker.run(checker.decide, [request]))  # the retry
    assert decision.outcome is m.DecisionOutcome.DENY, "decided again on the $0.20 left"
    assert checker.budget()[1] == Decimal("0.8")


def test_the_store_refuses_a_hold_the_budget_cannot_cover_and_the_decision_says_so(
    checker: Checker,
) -> None:
    requests = [refund(2000, tenant=checker.tenant) for _ in range(3)]
    decisions = _decisions(checker.run(checker.decide, requests))
    outcomes = [d.outcome for d in decisions]
    assert outcomes == [m.DecisionOutcome.ALLOW, m.DecisionOutcome.ALLOW, m.DecisionOutcome.DENY]
    assert decisions[2].matched_policies == (core.BUDGET,)
    assert decisions[2].reason == (
        f"tenant {checker.tenant} has $0.20 of budget left; create_refund may cost up to $0.40"
    )
    assert decisions[2].reservation_id is None
    assert checker.budget()[1] == Decimal("0.8")


def test_a_completed_call_settles_its_hold_at_the_actual_cost(checker: Checker) -> None:
    request = refund(2000, tenant=checker.tenant)
    (decision,) = _decisions(checker.run(checker.decide, [request]))
    assert checker.run(checker.settle, [completed(request, 123_000)]) == []  # nothing published
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("0.123"))
    checker.run(checker.settle, [completed(request, 123_000)])  # processed once
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("0.123"))
    with checker.store.transaction(read_only=True) as conn:
        held = BUDGETS.get_reservation(conn, decision.reservation_id or "")
    assert held is not None
    assert held.status is ReservationStatus.SETTLED


def test_settled_spend_is_added_to_the_run_it_belongs_to(checker: Checker) -> None:
    run = unique("run")
    first = refund(2000, tenant=checker.tenant, run_id=run, step="one")
    checker.run(checker.decide, [first])
    second = refund(1000, tenant=checker.tenant, run_id=run, step="two")
    checker.run(checker.decide, [second])
    checker.run(checker.settle, [completed(first, 250_000), completed(second, 50_000)])
    with checker.store.transaction(read_only=True) as conn:
        spend = Journal().run_spend(conn, [run])
    assert spend == {run: 300_000}
    third = refund(1000, tenant=checker.tenant, run_id=run, step="three")
    (decision,) = _decisions(checker.run(checker.decide, [third]))
    assert decision.run_spent_micros == 300_000  # the spend it read, for replay


def test_a_model_call_is_charged_to_the_tenant_budget_and_the_run_spend_once(
    checker: Checker,
) -> None:
    run = unique("run")
    call = model_call(250_000, tenant=checker.tenant, run_id=run)
    assert checker.run(checker.decide, [call]) == []  # a charge publishes nothing
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("0.25"))
    checker.run(checker.decide, [call])  # redelivered: processed once
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("0.25"))
    with checker.store.transaction(read_only=True) as conn:
        assert Journal().run_spend(conn, [run]) == {run: 250_000}
    (decision,) = _decisions(
        checker.run(checker.decide, [refund(2000, tenant=checker.tenant, run_id=run)])
    )
    assert decision.run_spent_micros == 250_000, "the run's next decision reads the model spend"
    assert decision.budget_remaining_micros == 350_000


def test_a_model_call_past_the_budget_is_charged_and_the_next_call_is_denied_for_budget(
    checker: Checker,
) -> None:
    run = unique("run")
    checker.run(checker.decide, [model_call(1_200_000, tenant=checker.tenant, run_id=run)])
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("1.2")), "over the limit"
    (decision,) = _decisions(
        checker.run(checker.decide, [refund(2000, tenant=checker.tenant, run_id=run, step="b")])
    )
    assert decision.outcome is m.DecisionOutcome.DENY
    assert decision.matched_policies == ("budget-exhausted",), "the policies see the model spend"
    assert decision.reason == (
        f"tenant {checker.tenant} has $-0.20 of budget left; create_refund may cost up to $0.40"
    )


def test_a_model_call_in_the_batch_of_a_request_is_charged_before_the_request_is_decided(
    checker: Checker,
) -> None:
    run = unique("run")
    call = model_call(700_000, tenant=checker.tenant, run_id=run)
    request = refund(2000, tenant=checker.tenant, run_id=run)
    (decision,) = _decisions(checker.run(checker.decide, [call, request]))
    assert decision.outcome is m.DecisionOutcome.DENY, "$0.30 left for a $0.40 hold"
    assert decision.run_spent_micros == 700_000
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal("0.7"))


def test_a_denied_approval_releases_the_hold_of_the_parked_call(checker: Checker) -> None:
    request = refund(23000, tenant=checker.tenant)
    (decision,) = _decisions(checker.run(checker.decide, [request]))
    assert decision.outcome is m.DecisionOutcome.REQUIRE_APPROVAL
    assert decision.approval_id is not None
    assert checker.budget()[1] == Decimal("0.4")
    assert checker.run(checker.settle, [approval_denied(request, decision.approval_id)]) == []
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal(0))


def test_a_kill_switch_recorded_by_the_control_loop_denies_the_next_request(
    checker: Checker,
) -> None:
    engage = kill_switch(m.KillSwitchScope.TENANT, checker.tenant)
    assert checker.run(checker.control, [engage]) == []
    (denied,) = _decisions(checker.run(checker.decide, [refund(2000, tenant=checker.tenant)]))
    assert denied.outcome is m.DecisionOutcome.DENY
    assert denied.matched_policies == ("kill-switch-engaged",)
    release = kill_switch(
        m.KillSwitchScope.TENANT, checker.tenant, engaged=False, at=NOW + timedelta(seconds=1)
    )
    checker.run(checker.control, [engage, release])  # the old event again, then the release
    (allowed,) = _decisions(checker.run(checker.decide, [refund(2000, tenant=checker.tenant)]))
    assert allowed.outcome is m.DecisionOutcome.ALLOW


def test_a_candidate_bundle_is_evaluated_in_shadow_and_its_divergence_counted(
    engine: Engine, tmp_path: Path
) -> None:
    candidate = tmp_path / "candidate"
    shutil.copytree(DEMO_BUNDLE, candidate)
    refunds = candidate / "policies" / "refunds.cedar"
    refunds.write_text(refunds.read_text().replace("<= 5000\n", "<= 1000\n"))
    checker = _checker(engine, 10_000_000, shadow=load_bundle(candidate))
    requests = [refund(2000, tenant=checker.tenant), refund(900, tenant=checker.tenant)]
    decisions = _decisions(checker.run(checker.decide, requests))
    assert [d.outcome for d in decisions] == [m.DecisionOutcome.ALLOW] * 2  # nothing enforced
    counter = ShadowCounter(checker.hot, checker.shadow_digest)
    assert (counter.evaluated(), counter.divergent()) == (2, 1)


def test_a_cancelled_runs_calls_are_denied_as_cancelled_whatever_the_policies_say(
    checker: Checker,
) -> None:
    run = unique("run")
    checker.run(checker.control, [kill_switch(m.KillSwitchScope.RUN, run)])
    requests = [
        refund(2000, tenant=checker.tenant, run_id=run, step="mine"),
        refund(2000, tenant=checker.tenant, step="other run"),
    ]
    mine, other = _decisions(checker.run(checker.decide, requests))
    assert mine.outcome is m.DecisionOutcome.DENY
    assert mine.matched_policies == (RUN_CANCELLED_POLICY,)
    assert f"run {run} was cancelled by oncall: incident 42" == mine.reason
    assert mine.reservation_id is None
    assert other.outcome is m.DecisionOutcome.ALLOW
    assert checker.budget()[1] == Decimal("0.4"), "only the other run's call holds budget"


def test_cancelling_a_run_gives_back_its_parked_holds_and_leaves_its_allowed_ones(
    checker: Checker,
) -> None:
    run = unique("run")
    parked = refund(23000, tenant=checker.tenant, run_id=run, step="parked")
    allowed = refund(2000, tenant=checker.tenant, run_id=run, step="allowed")
    waiting, going = _decisions(checker.run(checker.decide, [parked, allowed]))
    assert waiting.outcome is m.DecisionOutcome.REQUIRE_APPROVAL
    assert going.outcome is m.DecisionOutcome.ALLOW
    assert checker.budget()[1] == Decimal("0.8")

    cancel = kill_switch(m.KillSwitchScope.RUN, run)
    assert checker.run(checker.control, [cancel]) == []
    assert checker.budget()[1] == Decimal("0.4"), "the parked call's hold is given back"
    checker.run(checker.control, [kill_switch(m.KillSwitchScope.RUN, run)])  # cancelled again
    assert checker.budget()[1] == Decimal("0.4")

    # The allowed call's hold waits for its outcome: the executor's refusal releases it.
    checker.run(checker.settle, [failed(allowed)])
    assert checker.budget() == (Decimal(1), Decimal(0), Decimal(0))
    with checker.store.transaction(read_only=True) as conn:
        holds = [BUDGETS.get_reservation(conn, d.reservation_id or "") for d in (waiting, going)]
    assert [h.status if h else None for h in holds] == [ReservationStatus.RELEASED] * 2
