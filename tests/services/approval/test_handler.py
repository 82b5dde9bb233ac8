"""The decisions handler on its own: what opens a case, what is ignored, what is refused."""

import pytest

from agentdeck.approval.adapters.cases import CaseStore
from agentdeck.approval.adapters.webhook import NoNotifier
from agentdeck.approval.core.events import outcome_event
from agentdeck.approval.core.model import CaseStatus, Verdict, Vote
from agentdeck.approval.handlers import DecisionHandler
from agentdeck.contracts import models as m
from agentdeck.errors import TerminalError
from agentdeck.kafka import Inbound, Outcome
from agentdeck.runtime import transactional
from agentdeck.signing import Signer, decision_message, generate_private_key
from agentdeck.store import Store
from testkit.kafka import NOW, TEST_PRODUCER

POLICY = Signer("policy-1", generate_private_key())
APPROVAL = Signer("approval-1", generate_private_key())


def _signed(decision: m.PolicyDecided, signer: Signer = POLICY) -> m.PolicyDecided:
    return decision.model_copy(update={"signature": signer.sign(decision_message(decision))})


def _batch(*events):
    return [Inbound(event, None) for event in events]  # the handler reads events only


class Told(NoNotifier):
    def __init__(self) -> None:
        self.told: list[str] = []

    def notify(self, event) -> None:  # type: ignore[no-untyped-def,override]
        self.told.append(event.approval_id)


CONSUMER = "approval.decisions"


@pytest.fixture
def notifier():
    return Told()


@pytest.fixture
def store(engine):
    return Store(engine)


@pytest.fixture
def handler(store, codec, rules, notifier):
    deciding = DecisionHandler(
        CaseStore(store, codec),
        rules,
        identity=TEST_PRODUCER,
        clock=lambda: NOW,
        notifier=notifier,
        policy_keys={POLICY.key_id: POLICY.public_key_b64()},
        signer=APPROVAL,
    )
    return transactional(deciding, store=store, consumer=CONSUMER)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_only_signed_require_approval_decisions_open_cases_and_only_once(
    handler, store, notifier, make_decision
):
    wanted = _signed(make_decision())
    allowed = _signed(make_decision(outcome=m.DecisionOutcome.ALLOW))
    outcome = handler(_batch(wanted, allowed, wanted))
    assert isinstance(outcome, Outcome)
    assert [e.approval_id for e in outcome.events] == [wanted.approval_id]
    assert notifier.told == [], "no notice before the case is stored"
    assert outcome.commit is not None
    outcome.commit()
    assert notifier.told == [wanted.approval_id]
    again = handler(_batch(wanted))
    assert list(again.events) == []
    only_allowed = handler(_batch(allowed))
    assert (list(only_allowed.events), only_allowed.commit) == ([], None), "nothing to write"
    ids = [wanted.envelope.event_id, allowed.envelope.event_id]
    with store.transaction(read_only=True) as conn:
        unmarked = store.processed.filter_new(conn, CONSUMER, ids)
    assert unmarked == {allowed.envelope.event_id}, "an ALLOW decision costs no processed row"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("key_id", "problem"), [("policy-1", "bad signature"), ("policy-9", "unknown key")]
)
def test_a_decision_not_signed_by_the_policy_checker_is_refused(
    handler, make_decision, key_id, problem
):
    # Checked as the executor checks it (signing.decision_signature_problem), problem included.
    forger = Signer(key_id, generate_private_key())
    forged = _signed(make_decision().model_copy(update={"key_id": key_id}), forger)
    with pytest.raises(TerminalError) as caught:
        handler(_batch(forged))
    assert caught.value.code == "bad_decision_signature"
    assert problem in caught.value.message


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_decision_that_comes_again_republishes_its_closed_cases_outcome(
    handler, store, codec, make_decision
):
    # The planner re-drives a run whose grant never reached it: the decision comes again,
    # and the grant is published again, the very same event.
    wanted = _signed(make_decision())
    opened = handler(_batch(wanted))
    assert opened.commit is not None
    opened.commit()
    cases = CaseStore(store, codec)
    stored = cases.load(wanted.approval_id)
    assert stored is not None
    assert list(handler(_batch(wanted)).events) == [], "an open case: nothing to say again"
    vote = Vote(approver="alice", role="support-lead", verdict=Verdict.APPROVE, at=NOW)
    granted = stored.case.model_copy(
        update={"votes": (vote,), "status": CaseStatus.GRANTED, "decided_at": NOW}
    )
    outcome = outcome_event(granted, APPROVAL, TEST_PRODUCER)
    cases.save(stored, granted, [outcome], NOW)
    assert list(handler(_batch(wanted)).events) == [outcome]
