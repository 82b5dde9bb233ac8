"""Only registered producers start runs: forged goals start nothing and an operator sees why."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from typer.testing import CliRunner

from agentdeck.cli.app import app
from agentdeck.cli.producer import embedded_signer
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.kafka import EventProducer, Topic, record_key
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer, generate_private_key, sign_record
from agentdeck.store import Store
from agentdeck.telemetry.adapters.runs import RunsRepository

PROJECTION = RunsRepository()


def _goal(run_id: str, **envelope: object) -> m.GoalSubmitted:
    event = goal_event(
        goal="Refund order 1042",
        playbook="refund-order",
        inputs={"order_id": "1042", "amount_cents": 1500, "reason": "late"},
        tenant="acme",
        run_id=run_id,
        requested_by="crm",
        limits=m.RunLimits(),
    )
    return event.model_copy(update={"envelope": event.envelope.model_copy(update=envelope)})


def _rejections(store: Store, run_ids: set[str], timeout_s: float = 60) -> dict[str, str]:
    codec, deadline = default_codec(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with store.transaction(read_only=True) as conn:
            archived = [
                codec.decode(a.payload)
                for a in store.archive.latest_of_type(
                    conn,
                    m.GoalRejected.EVENT_TYPE,
                    since=datetime.min.replace(tzinfo=UTC),
                    limit=100,
                )
            ]
        found = {
            e.claimed_run_id: e.failure.code
            for e in archived
            if isinstance(e, m.GoalRejected) and e.claimed_run_id in run_ids
        }
        if found.keys() == run_ids:
            return found
        time.sleep(0.2)
    raise AssertionError(f"rejections archived so far: {found}")


def _archived_once(store: Store, run_id: str, timeout_s: float = 30) -> list[str]:
    """The types archived under ``run_id`` once anything is (the caller checks what)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with store.transaction(read_only=True) as conn:
            archived = [a.event_type for a in store.archive.read_run(conn, run_id)]
        if archived or time.monotonic() > deadline:
            return archived
        time.sleep(0.2)


def test_goals_from_strangers_altered_goals_and_chosen_agents_start_nothing(platform, monkeypatch):
    codec = default_codec()
    kafka = KafkaSettings(
        bootstrap_servers=platform.info.bootstrap_servers, topic_prefix=platform.info.topic_prefix
    )
    goals = Topic.GOALS.full(kafka.topic_prefix)
    raw = EventProducer(kafka, codec, client_id="forger")
    ours = embedded_signer(platform.info.data_dir)
    tag = f"{time.monotonic_ns()}"
    stranger = _goal(f"stranger-{tag}")
    value = codec.encode(stranger)
    raw.send_raw(
        goals, value, record_key(stranger), sign_record(Signer("x", generate_private_key()), value)
    )
    signed, altered = _goal(f"altered-{tag}"), _goal(f"altered-{tag}", tenant="globex")
    headers = sign_record(ours, codec.encode(signed))
    raw.send_raw(goals, codec.encode(altered), record_key(altered), headers)
    chooser = _goal(f"chooser-{tag}", agent="admin-agent")
    value = codec.encode(chooser)
    raw.send_raw(goals, value, record_key(chooser), sign_record(ours, value))
    raw.flush()

    codes = _rejections(
        platform.stack.store, {f"stranger-{tag}", f"altered-{tag}", f"chooser-{tag}"}
    )
    assert codes == {
        f"stranger-{tag}": "producer_unknown",
        f"altered-{tag}": "signature_invalid",
        f"chooser-{tag}": "agent_mismatch",
    }
    for run_id in codes:
        # The refused goal itself is archived as received, headers and all; nothing else.
        # Telemetry reads the goals and the rejections from different topics: the
        # rejection may be archived first.
        assert _archived_once(platform.stack.store, run_id) == [m.GoalSubmitted.EVENT_TYPE]
        with platform.stack.store.transaction(read_only=True) as conn:
            assert PROJECTION.get(conn, run_id) is None

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", platform.info.database_url)
    shown = CliRunner().invoke(app, ["rejected"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    for run_id, code in codes.items():
        assert run_id in shown.output
        assert code in shown.output
