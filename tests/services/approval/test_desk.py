"""The desk over the real store and broker, without consumer loops: races and the outbox."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from agentdeck.approval.adapters.cases import CaseStore, Conflict
from agentdeck.approval.adapters.requests import ApprovalsRepository
from agentdeck.approval.adapters.tables import ApprovalStatus
from agentdeck.approval.adapters.webhook import NoNotifier
from agentdeck.approval.core import (
    Approver,
    Closed,
    Principal,
    Rejection,
    Verdict,
    cast,
    open_case,
)
from agentdeck.approval.desk import ApprovalDesk, PublishPending
from agentdeck.contracts import models as m
from agentdeck.controls import SwitchView
from agentdeck.kafka import EventProducer, Publisher
from agentdeck.store import Store
from testkit.controls import kill_switch
from testkit.kafka import NOW, TEST_PRODUCER

LEADS = [
    Principal(name=f"lead-{n}", roles=frozenset({"support-lead"}), tenants=frozenset({"acme"}))
    for n in range(8)
]

REQUESTS = ApprovalsRepository()


def caught_up() -> SwitchView:
    """A view of the kill switches that has read the (empty) control topic."""
    view = SwitchView()
    view.mark_caught_up()
    return view


def _desk(
    harness,
    cases: CaseStore,
    clock,
    *,
    publisher: Publisher | None = None,
    switches: SwitchView | None = None,
    switches_wait_s: float = 2.0,
) -> ApprovalDesk:
    producer = EventProducer(harness.kafka, harness.codec, client_id="desk-test")
    return ApprovalDesk(
        cases,
        publisher or Publisher(producer),
        harness.signer,
        identity=TEST_PRODUCER,
        clock=clock,
        notifier=NoNotifier(),
        switches=switches or caught_up(),
        switches_wait_s=switches_wait_s,
    )


@pytest.fixture
def store(engine) -> Store:
    return Store(engine)


@pytest.fixture
def cases(store, harness) -> CaseStore:
    return CaseStore(store, harness.codec)


@pytest.fixture
def new_case(cases, make_decision, rules):
    """Opens and stores a case of a fresh decision."""

    def create():
        case = open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER)
        cases.create([case], NOW)
        return case

    return create


def _waiting(cases: CaseStore, approval_id: str) -> list:
    return [e for e in cases.outbox() if e.approval_id == approval_id]


@pytest.mark.integration
def test_of_many_racing_approvers_exactly_one_decides(cases, harness, new_case, clock):
    case = new_case()
    desk = _desk(harness, cases, clock)
    verdicts = [Verdict.APPROVE, Verdict.DENY] * 4
    with ThreadPoolExecutor(len(LEADS)) as pool:
        results = list(
            pool.map(
                lambda pair: desk.decide(case.approval_id, pair[0], pair[1], None).result,
                zip(LEADS, verdicts, strict=True),
            )
        )
    closed = [r for r in results if isinstance(r, Closed)]
    assert len(closed) == 1
    assert {r.code for r in results if isinstance(r, Rejection)} == {"already_decided"}
    events = harness.approvals(1, of=[case.approval_id])
    assert len(harness.approvals(2, of=[case.approval_id], timeout_s=2)) == 1
    assert harness.verifies(events[0])


@pytest.mark.integration
def test_the_queue_finds_an_approvers_cases_behind_more_urgent_ones_of_other_tenants(
    cases, harness, make_decision, rules, clock
):
    mine, theirs = f"acme-{uuid.uuid4().hex[:8]}", f"globex-{uuid.uuid4().hex[:8]}"
    earlier = NOW - timedelta(minutes=10)  # their timers come first
    urgent = [
        open_case(make_decision(tenant=theirs), rules, now=earlier, producer=TEST_PRODUCER)
        for _ in range(3)
    ]
    own = open_case(make_decision(tenant=mine), rules, now=NOW, producer=TEST_PRODUCER)
    cases.create([*urgent, own], NOW)
    lead = Principal(name="pat", roles=frozenset({"support-lead"}), tenants=frozenset({mine}))
    desk = _desk(harness, cases, clock)
    assert [c.approval_id for c in desk.pending(lead, limit=1)] == [own.approval_id]
    assert desk.get(urgent[0].approval_id, lead) is None
    assert desk.get(own.approval_id, lead) == own


@pytest.mark.integration
def test_a_stale_write_is_refused(cases, new_case):
    case = new_case()
    stored = cases.load(case.approval_id)
    lead, other = (Approver(name=p.name, role="support-lead") for p in LEADS[:2])
    first = cast(stored.case, lead, Verdict.APPROVE, None, NOW)
    cases.save(stored, first.case, [], NOW)
    second = cast(stored.case, other, Verdict.DENY, None, NOW)
    with pytest.raises(Conflict):
        cases.save(stored, second.case, [], NOW)
    assert cases.load(case.approval_id).case.status.value == "granted"


@pytest.mark.integration
def test_a_stale_vote_that_leaves_the_case_open_is_refused_too(cases, make_decision, rules, store):
    # A quorum of two: the first vote moves no approvals row, only the case's version guards it.
    case = open_case(make_decision(matched=("risk:high",)), rules, now=NOW, producer=TEST_PRODUCER)
    cases.create([case], NOW)
    stored = cases.load(case.approval_id)
    bob, dave = (Approver(name=n, role="finance") for n in ("bob", "dave"))
    first = cast(stored.case, bob, Verdict.APPROVE, None, NOW)
    assert first.case.is_open
    cases.save(stored, first.case, [], NOW)
    with pytest.raises(Conflict):
        cases.save(stored, cast(stored.case, dave, Verdict.APPROVE, None, NOW).case, [], NOW)
    again = cases.load(case.approval_id)
    assert [v.approver for v in again.case.votes] == ["bob"]
    assert again.version == stored.version + 1


@pytest.mark.integration
def test_creating_a_case_twice_keeps_the_first(cases, make_decision, rules):
    decision = make_decision()
    first = open_case(decision, rules, now=NOW, producer=TEST_PRODUCER)
    later = open_case(decision, rules, now=NOW + timedelta(minutes=1), producer=TEST_PRODUCER)
    cases.create([first], NOW)
    cases.create([later], NOW + timedelta(minutes=1))
    assert cases.load(first.approval_id).case == first


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_event_the_broker_did_not_take_is_published_by_a_later_sweep(
    store, cases, harness, new_case, clock
):
    case = new_case()
    broken = Publisher(EventProducer(harness.kafka, harness.codec, client_id="broken"))
    broken.close()
    with pytest.raises(PublishPending):
        _desk(harness, cases, clock, publisher=broken).decide(
            case.approval_id, LEADS[0], Verdict.APPROVE, "ok"
        )
    assert cases.load(case.approval_id).case.status.value == "granted"
    assert len(_waiting(cases, case.approval_id)) == 1

    restarted = _desk(harness, cases, clock)
    restarted.sweep()  # a fresh entry may still be in flight: left alone once
    restarted.sweep()
    [event] = harness.approvals(1, of=[case.approval_id])
    assert isinstance(event, m.ApprovalGranted)
    assert harness.verifies(event)
    assert _waiting(cases, case.approval_id) == []
    with store.transaction(read_only=True) as conn:
        assert REQUESTS.get(conn, case.approval_id).status is ApprovalStatus.GRANTED


@pytest.mark.integration
def test_no_approval_is_granted_in_a_killed_tenant_and_a_denial_still_is(
    cases, harness, new_case, clock
):
    case = new_case()
    switches = caught_up()
    switches.apply([kill_switch(m.KillSwitchScope.TENANT, case.request.envelope.tenant)])
    desk = _desk(harness, cases, clock, switches=switches)
    refused = desk.decide(case.approval_id, LEADS[0], Verdict.APPROVE, None)
    assert isinstance(refused.result, Rejection)
    assert refused.result.code == "kill_switch_engaged"
    assert "incident 42" in refused.result.message
    assert refused.event is None
    stored = cases.load(case.approval_id)
    assert stored is not None
    assert stored.case.is_open
    assert stored.case.votes == ()
    assert _waiting(cases, case.approval_id) == []
    denied = desk.decide(case.approval_id, LEADS[1], Verdict.DENY, None)
    assert isinstance(denied.event, m.ApprovalDenied)


@pytest.mark.integration
def test_no_approval_is_granted_before_the_switches_are_read(cases, harness, new_case, clock):
    case = new_case()
    desk = _desk(harness, cases, clock, switches=SwitchView(), switches_wait_s=0.0)
    refused = desk.decide(case.approval_id, LEADS[0], Verdict.APPROVE, None)
    assert isinstance(refused.result, Rejection)
    assert refused.result.code == "kill_switches_loading"
    denied = desk.decide(case.approval_id, LEADS[1], Verdict.DENY, None)
    assert isinstance(denied.event, m.ApprovalDenied)


@pytest.mark.integration
def test_no_approval_is_granted_in_a_cancelled_run(cases, harness, new_case, clock):
    case = new_case()
    run = case.request.envelope.run_id
    assert run is not None
    switches = caught_up()
    switches.apply([kill_switch(m.KillSwitchScope.RUN, run)])
    desk = _desk(harness, cases, clock, switches=switches)
    refused = desk.decide(case.approval_id, LEADS[0], Verdict.APPROVE, None)
    assert isinstance(refused.result, Rejection)
    assert refused.result.code == "run_cancelled"
    assert f"run {run} was cancelled" in refused.result.message
    assert refused.event is None
    other = new_case()
    assert other.request.envelope.run_id != run
    granted = _desk(harness, cases, clock, switches=switches).decide(
        other.approval_id, LEADS[0], Verdict.APPROVE, None
    )
    assert not isinstance(granted.result, Rejection), "another run's case is not stopped"
