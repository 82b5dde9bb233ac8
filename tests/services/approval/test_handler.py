"""The decisions handler on its own: what opens a case, what is ignored, what is refused."""

import pytest

from agentdeck.approval.adapters.cases import CaseStore
from agentdeck.approval.adapters.webhook import NoNotifier
from agentdeck.approval.handlers import DecisionHandler
from agentdeck.contracts import models as m
from agentdeck.errors import TerminalError
from agentdeck.kafka import Inbound, Outcome
from agentdeck.signing import Signer, decision_message, generate_private_key
from agentdeck.store import Store
from testkit.kafka import NOW, TEST_PRODUCER

POLICY = Signer("policy-1", generate_private_key())


def _signed(decision: m.PolicyDecided, signer: Signer = POLICY) -> m.PolicyDecided:
    return decision.model_copy(update={"signature": signer.sign(decision_message(decision))})


def _batch(*events):
    return [Inbound(event, None) for event in events]  # the handler reads events only


@pytest.fixture
def handler(engine, codec, rules):
    return DecisionHandler(
        CaseStore(Store(engine), codec),
        rules,
        identity=TEST_PRODUCER,
        clock=lambda: NOW,
        notifier=NoNotifier(),
        policy_keys={POLICY.key_id: POLICY.public_key_b64()},
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_only_signed_require_approval_decisions_open_cases_and_only_once(handler, make_decision):
    wanted = _signed(make_decision())
    allowed = _signed(make_decision(outcome=m.DecisionOutcome.ALLOW))
    outcome = handler(_batch(wanted, allowed, wanted))
    assert isinstance(outcome, Outcome)
    assert [e.approval_id for e in outcome.events] == [wanted.approval_id]
    outcome.commit()
    again = handler(_batch(wanted))
    assert list(again.events) == []
    assert list(handler(_batch(allowed))) == []


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
