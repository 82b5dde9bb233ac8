"""Admission: only a goal signed by a registered producer, within its grant, starts a run."""

import dataclasses
from datetime import timedelta

import pytest

from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.errors import ConfigError
from agentdeck.planner.adapters.producers import ProducerRegistry
from agentdeck.planner.core import decide
from agentdeck.planner.core.admission import Admitted, Ceilings, Refused
from agentdeck.signing import Signer, generate_private_key, sign_record
from testkit.producers import PRODUCER_ID, SIGNER, registry

from .test_core import NOW, ctx, goal


def _admitted(**grant: object) -> Admitted:
    authenticator = registry(**grant).authenticator()
    value = default_codec().encode(goal())
    admission = authenticator.authenticate(value, sign_record(SIGNER, value))
    assert isinstance(admission, Admitted)
    return admission


def _decide(event: m.GoalSubmitted, admission: Admitted | Refused) -> tuple[object, list[object]]:
    return decide(None, event, dataclasses.replace(ctx(), admission=admission))


def _refusal(event: m.GoalSubmitted, admission: Admitted | Refused) -> m.ErrorInfo:
    state, events = _decide(event, admission)
    assert state is None, "a refused goal starts no run"
    [rejected] = events
    assert isinstance(rejected, m.GoalRejected)
    assert rejected.envelope.run_id is None
    assert rejected.claimed_run_id == event.envelope.run_id
    assert rejected.goal_event_id == event.envelope.event_id
    return rejected.failure


def _with_agent(event: m.GoalSubmitted, agent: str) -> m.GoalSubmitted:
    env = event.envelope.model_copy(update={"agent": agent})
    return event.model_copy(update={"envelope": env})


def test_a_goal_within_its_producers_grant_starts_a_run_acting_as_the_playbooks_agent():
    state, events = _decide(goal(), _admitted())
    assert state is not None
    assert (state.agent, state.producer) == ("support-agent", PRODUCER_ID)
    assert isinstance(events[0], m.RunStarted)


@pytest.mark.parametrize(
    ("grant", "code"),
    [
        ({"tenants": ("globex",)}, "tenant_not_granted"),
        ({"playbooks": ("another-playbook",)}, "playbook_not_granted"),
        ({"agents": ("billing-agent",)}, "agent_not_granted"),
        ({"ceilings": Ceilings(max_cost_micros=1_000_000)}, "limits_above_grant"),
        ({"ceilings": Ceilings(max_run_seconds=60)}, "limits_above_grant"),
    ],
)
def test_a_goal_outside_its_producers_grant_starts_nothing(grant, code):
    failure = _refusal(goal(), _admitted(**grant))
    assert failure.code == code
    assert PRODUCER_ID in failure.message
    assert failure.remediation


def test_a_deadline_within_the_ceiling_is_admitted():
    event = goal(deadline=NOW + timedelta(seconds=30))
    state, _ = _decide(event, _admitted(ceilings=Ceilings(max_run_seconds=60)))
    assert state is not None


def test_a_goal_cannot_choose_the_agent_its_run_acts_as():
    failure = _refusal(_with_agent(goal(), "admin-agent"), _admitted())
    assert failure.code == "agent_mismatch"


def test_a_goal_may_name_the_agent_the_platform_chose():
    state, _ = _decide(_with_agent(goal(), "support-agent"), _admitted())
    assert state is not None
    assert state.agent == "support-agent"


def test_a_model_planned_goal_claiming_an_agent_is_refused_not_given_its_tier():
    event = _with_agent(goal().model_copy(update={"playbook": None}), "support-agent")
    context = dataclasses.replace(ctx(), admission=_admitted(), model_for=lambda _g: "small")
    state, [rejected] = decide(None, event, context)
    assert state is None
    assert isinstance(rejected, m.GoalRejected)
    assert rejected.failure.code == "agent_mismatch"


def test_model_planning_needs_its_own_grant():
    event = goal().model_copy(update={"playbook": None})
    failure = _refusal(event, _admitted(model_planned=False))
    assert failure.code == "model_planning_not_granted"


def test_a_refused_goal_is_rejected_with_the_authenticators_reason():
    refused = Refused("signature_invalid", "bad", ("sign it",), "1@abc", "k", "crm")
    failure = _refusal(goal(), refused)
    assert (failure.code, failure.category) == ("signature_invalid", "POLICY")


def _authenticate(value: bytes, headers: list[tuple[str, bytes | None]], reg: ProducerRegistry):
    return reg.authenticator().authenticate(value, headers)


def test_an_unsigned_goal_record_is_refused():
    value = default_codec().encode(goal())
    refused = _authenticate(value, [], registry())
    assert isinstance(refused, Refused)
    assert refused.code == "signature_missing"


def test_a_goal_signed_by_an_unregistered_key_is_refused():
    value = default_codec().encode(goal())
    stranger = Signer("stranger-1", generate_private_key())
    refused = _authenticate(value, sign_record(stranger, value), registry())
    assert isinstance(refused, Refused)
    assert (refused.code, refused.key_id, refused.producer_id) == (
        "producer_unknown",
        "stranger-1",
        None,
    )


def test_a_goal_changed_after_signing_is_refused():
    value = default_codec().encode(goal())
    headers = sign_record(SIGNER, value)
    changed = default_codec().encode(goal(amount=9_999))
    refused = _authenticate(changed, headers, registry())
    assert isinstance(refused, Refused)
    assert (refused.code, refused.producer_id) == ("signature_invalid", PRODUCER_ID)


def test_a_registered_key_id_with_a_forged_signature_is_refused():
    value = default_codec().encode(goal())
    impostor = Signer(SIGNER.key_id, generate_private_key())
    refused = _authenticate(value, sign_record(impostor, value), registry())
    assert isinstance(refused, Refused)
    assert refused.code == "signature_invalid"


def test_both_keys_of_a_producer_verify_during_rotation():
    new = Signer("test-crm-2", generate_private_key())
    rotating = registry(signers=(SIGNER, new))
    value = default_codec().encode(goal())
    for signer in (SIGNER, new):
        admitted = _authenticate(value, sign_record(signer, value), rotating)
        assert isinstance(admitted, Admitted)
        assert (admitted.producer_id, admitted.key_id) == (PRODUCER_ID, signer.key_id)


def test_a_registry_file_with_a_key_id_used_twice_does_not_load(tmp_path):
    key = SIGNER.public_key_b64()
    entry = f"{{keys: {{k1: {key}}}, tenants: [acme], agents: ['*']}}"
    path = tmp_path / "producers.yaml"
    path.write_text(f"version: 1\nproducers:\n  a: {entry}\n  b: {entry}\n")
    with pytest.raises(ConfigError, match="k1"):
        ProducerRegistry.load(path)


def test_a_registry_file_loads_and_names_its_version_and_digest(tmp_path):
    path = tmp_path / "producers.yaml"
    path.write_text(registry().model_dump_json())
    loaded = ProducerRegistry.load(path)
    assert loaded.label.startswith("1@")
    assert loaded.label == registry().label
