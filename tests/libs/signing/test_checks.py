import pytest

from agentdeck.contracts import default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import DecisionOutcome, PolicyDecided
from agentdeck.ids import approval_id_for
from agentdeck.signing import approval_id_problem, bound_approval_id

ALLOW, DENY, ASK = DecisionOutcome.ALLOW, DecisionOutcome.DENY, DecisionOutcome.REQUIRE_APPROVAL


def _decision(outcome: DecisionOutcome, approval_id: str | None) -> PolicyDecided:
    codec = default_codec()
    event = codec.decode(example_message(codec.registry.latest(PolicyDecided.EVENT_TYPE)))
    assert isinstance(event, PolicyDecided)
    return event.model_copy(update={"outcome": outcome, "approval_id": approval_id})


def test_only_a_decision_that_asks_for_approval_is_bound_to_one():
    assert bound_approval_id("d-1", ASK) == approval_id_for("d-1")
    assert bound_approval_id("d-1", ALLOW) is None
    assert bound_approval_id("d-1", DENY) is None


@pytest.mark.parametrize(
    ("outcome", "approval_id", "ok"),
    [
        (ASK, "bound", True),
        (ASK, None, False),
        (ASK, "another decision's", False),
        (ASK, "free text", False),
        (ALLOW, None, True),
        (ALLOW, "bound", False),
        (DENY, None, True),
        (DENY, "free text", False),
    ],
)
def test_a_decision_names_exactly_the_approval_bound_to_it(outcome, approval_id, ok):
    decision = _decision(outcome, None)
    named = {
        "bound": approval_id_for(decision.decision_id),
        "another decision's": approval_id_for("another-decision"),
    }.get(approval_id or "", approval_id)
    problem = approval_id_problem(decision.model_copy(update={"approval_id": named}))
    assert (problem is None) is ok
