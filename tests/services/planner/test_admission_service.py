"""Admission through the broker: forged goals start nothing, and cannot block the genuine one."""

from agentdeck.contracts import models as m
from agentdeck.kafka import EventProducer, Topic
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import Store
from testkit.kafka import read_topic
from testkit.producers import SIGNER

from .test_service import _goal, planner, run_states


def _with(goal: m.GoalSubmitted, **envelope: object) -> m.GoalSubmitted:
    return goal.model_copy(update={"envelope": goal.envelope.model_copy(update=envelope)})


def test_forged_goals_are_rejected_and_the_genuine_goal_with_the_same_id_still_starts(
    kafka, codec, engine
):
    store = Store(engine)
    runner = planner(kafka, codec, store)
    run_id = f"run-{kafka.topic_prefix}"
    genuine = _goal(run_id)
    unsigned = EventProducer(kafka, codec, client_id="forger")
    stranger = EventProducer(
        kafka, codec, client_id="stranger", signer=Signer("x-1", generate_private_key())
    )
    producer = EventProducer(kafka, codec, client_id="crm", signer=SIGNER)
    runner.start()
    try:
        unsigned.send(genuine)  # the genuine goal's bytes and id, without a signature
        stranger.send(_goal(f"{run_id}-b"))
        producer.send(_with(_goal(f"{run_id}-c"), tenant="globex"))
        producer.send(_with(_goal(f"{run_id}-d"), agent="admin-agent"))
        for p in (unsigned, stranger, producer):
            p.flush()
        runs = Topic.RUNS.full(kafka.topic_prefix)
        rejected = [codec.decode(r.value()) for r in read_topic(kafka, runs, 4)]
        producer.send(genuine)
        producer.flush()
        after = [codec.decode(r.value()) for r in read_topic(kafka, runs, 6)]
    finally:
        runner.stop()
    assert all(isinstance(e, m.GoalRejected) for e in rejected)
    codes = {e.claimed_run_id: e.failure.code for e in rejected}
    assert codes == {
        run_id: "signature_missing",
        f"{run_id}-b": "producer_unknown",
        f"{run_id}-c": "tenant_not_granted",
        f"{run_id}-d": "agent_mismatch",
    }
    started = [e for e in after if isinstance(e, m.RunStarted)]
    assert [e.envelope.run_id for e in started] == [run_id]
    with store.transaction(read_only=True) as conn:
        kept = run_states(codec, store).load(conn, [run_id, *(f"{run_id}-{r}" for r in "bcd")])
    assert set(kept) == {run_id}
