"""Personal data never leaves in the clear, and erasing a subject keeps every proof valid.

One run carries a canary (an email address and a phrase no other test uses) in
its goal and inputs; the playbook copies it into tool arguments and outputs.
The canary must not appear in the archive, the payload store, the traces, the
logs, or any Kafka record the platform wrote, yet open again from the archive
with the subject's key. Then `agentdeck erase` destroys the key: the data is
unreadable, replay reports the fields as erased, and the log and bundles verify.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from sqlalchemy import Connection, select, update
from typer.testing import CliRunner

from agentdeck.cli.app import app
from agentdeck.cli.audit import audit_app
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.kafka import Topic
from agentdeck.privacy import KeyRing, MasterKey, Sealer, erased_fields, is_sealed
from agentdeck.signing import Signer
from agentdeck.store._models import PayloadRow, ServiceStateRow, SubjectKeyRow
from agentdeck.telemetry.core.runs import RunStatus
from testkit.cli import point_cli_at

runner = CliRunner()
CANARY = f"canary{uuid.uuid4().hex[:12]}"
EMAIL = f"{CANARY}@example.com"
SUBJECT = f"customer:{uuid.uuid4().hex[:8]}"


def _opening(platform):  # type: ignore[no-untyped-def]
    """A codec holding the stack's master key, reading the store afresh (no cached keys)."""
    keys = KeyRing(
        platform.stack.store, MasterKey.from_b64(platform.keys.pii_master), cache_s=0.001
    )
    return default_codec().with_cipher(Sealer(keys))


def _trusting(platform) -> list[str]:  # type: ignore[no-untyped-def]
    key = Signer("telemetry-1", platform.keys.checkpoint_private)
    return ["--public-key", f"telemetry-1={key.public_key_b64()}"]


def _cli_env(platform, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    point_cli_at(platform.info, monkeypatch)
    # The CLI takes the stack's master key from its key file, as an operator next to it does.
    monkeypatch.delenv("AGENTDECK_PII_MASTER_KEY")


@pytest.fixture(scope="module")
def canary(platform):  # type: ignore[no-untyped-def]
    """The canary run, finished and its trace exported; and everything logged meanwhile."""
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    run = f"canary-{uuid.uuid4().hex[:10]}"
    try:
        goal = goal_event(
            goal=f"Refund $30.00 on order 1042 and tell {EMAIL}",
            playbook="refund-order",
            inputs={"order_id": "1042", "amount_cents": 3000, "reason": f"late, ask {EMAIL}"},
            tenant="acme",
            run_id=run,
            requested_by="crm",
            limits=m.RunLimits(),
            data_subject=SUBJECT,
        )
        # The same subject again, planned by the model: the canary is in its prompts.
        planned = goal_event(
            goal=f"Tell {EMAIL} where order 1042 is",
            playbook=None,
            inputs={"order_id": "1042"},
            tenant="acme",
            run_id=f"{run}-llm",
            requested_by="crm",
            limits=m.RunLimits(),
            data_subject=SUBJECT,
        )
        publish_goal(platform.info, goal)
        publish_goal(platform.info, planned)
        both = [run, f"{run}-llm"]
        outcome = wait_for_outcomes(platform.stack.store, both, timeout_s=90)
        assert all(outcome[r].status is RunStatus.COMPLETED for r in both), outcome
        traces = Path(platform.info.data_dir) / "traces.jsonl"
        deadline = time.monotonic() + 30
        while not (traces.exists() and all(r in traces.read_text(encoding="utf-8") for r in both)):
            assert time.monotonic() < deadline, "the run's trace was never exported"
            time.sleep(0.2)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    return run, logs.getvalue(), traces.read_text(encoding="utf-8")


def _records(platform):  # type: ignore[no-untyped-def]
    """Every record on every topic of the stack: (topic, value, headers)."""
    servers = platform.info.bootstrap_servers
    topics = [t.full(platform.info.topic_prefix) for t in Topic]
    listed = AdminClient({"bootstrap.servers": servers}).list_topics(timeout=10).topics
    consumer = Consumer({"bootstrap.servers": servers, "group.id": "canary-reader"})
    found = []
    try:
        assigned, expected = [], 0
        for topic in topics:
            for partition in listed[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
                if high > low:
                    assigned.append(TopicPartition(topic, partition, low))
                    expected += high - low
        consumer.assign(assigned)
        deadline = time.monotonic() + 30
        while len(found) < expected and time.monotonic() < deadline:
            found.extend(
                (msg.topic(), msg.value() or b"", msg.headers() or [])
                for msg in consumer.consume(1000, 0.2)
                if msg.error() is None
            )
    finally:
        consumer.close()
    assert len(found) >= expected, "every record up to the end offsets was read"
    return found


def test_the_canary_is_sealed_in_the_archive_and_opens_with_the_subjects_key(platform, canary):
    run, _, _ = canary
    store = platform.stack.store
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run)
        planned = store.archive.read_run(conn, f"{run}-llm")
        payloads = [bytes(d) for d in conn.execute(select(PayloadRow.data)).scalars()]
    assert len(archived) >= 8
    asked = [_opening(platform).decode(r.payload) for r in planned]
    prompts = [e.request_json for e in asked if isinstance(e, m.LlmCallRecorded)]
    assert prompts, "the model was asked"
    assert any(EMAIL in p for p in prompts), "the canary reached the model's prompt"
    for row in planned:
        assert CANARY.encode() not in row.payload, row.event_type
    for row in archived:
        assert CANARY.encode() not in row.payload, row.event_type
        assert all(CANARY.encode() not in (v or b"") for _, v in row.headers)
    assert all(CANARY.encode() not in data for data in payloads)
    with store.transaction(read_only=True) as conn:
        kept = _texts_kept_by_the_services(conn)
    assert len(kept) >= 3
    assert [t[:120] for t in kept if CANARY in t] == [], "the services' own tables keep it sealed"
    opened = [_opening(platform).decode(row.payload) for row in archived]
    goal = next(e for e in opened if isinstance(e, m.GoalSubmitted))
    assert EMAIL in goal.goal
    assert EMAIL in json.loads(goal.inputs_json)["reason"]
    calls = [e for e in opened if isinstance(e, m.ToolCallRequested)]
    assert any(EMAIL in c.arguments_json for c in calls), "the canary reached a tool call"
    plain = [default_codec().decode(row.payload) for row in archived]
    assert not erased_fields(opened, default_codec().sensitive)
    assert len(erased_fields(plain, default_codec().sensitive)) >= len(calls), "sealed, not gone"


def _texts_kept_by_the_services(conn: Connection) -> list[str]:
    """Every text or bytes value in every table a service owns, and in the legacy keyed state."""
    tables = [t for s in SERVICE_SCHEMAS for t in s.metadata.tables.values()]
    # The demo desk stands in for the customer's own refund system: what a tool
    # writes there is that system's to protect, not the platform's.
    mine = [t for t in tables if not t.name.startswith("demo_")] + [ServiceStateRow.__table__]
    kept = []
    for table in mine:
        columns = [c for c in table.c if _python_type(c.type) in (str, bytes)]
        for row in conn.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value:
                    text = value.decode(errors="replace") if isinstance(value, bytes) else value
                    kept.append(f"{table.name}.{column.name}: {text}")
    return kept


def _python_type(column_type: object) -> type | None:
    try:
        return column_type.python_type  # type: ignore[attr-defined, no-any-return]
    except NotImplementedError:
        return None


def test_no_kafka_record_the_platform_wrote_carries_the_canary(platform, canary):
    records = _records(platform)
    goals = Topic.GOALS.full(platform.info.topic_prefix)
    written = [r for r in records if r[0] != goals]
    assert len(written) >= 8
    for topic, value, headers in written:
        assert CANARY.encode() not in value, topic
        assert all(CANARY.encode() not in (v or b"") for _, v in headers), topic
    # The producer's own goal record carries it: the reader above does see plain text.
    assert any(CANARY.encode() in value for topic, value, _ in records if topic == goals)


def test_traces_and_logs_never_carry_the_canary(canary):
    run, logs, traces = canary
    assert run in traces, "the run's trace was exported"
    assert logs, "the platform's logging was captured"
    assert CANARY not in traces
    assert CANARY not in logs


def test_erasing_the_subject_makes_its_data_unreadable_and_keeps_every_proof(
    platform, canary, monkeypatch, tmp_path
):
    run, _, _ = canary
    url = platform.info.database_url
    _cli_env(platform, monkeypatch)
    before = tmp_path / "before.json"
    deadline = time.monotonic() + 60
    while runner.invoke(
        audit_app, ["export", run, "--out", str(before), "--database-url", url]
    ).exit_code:
        assert time.monotonic() < deadline, "no checkpoint covered the run"
        time.sleep(1)

    erased = runner.invoke(app, ["erase", "--subject", SUBJECT, "--tenant", "acme"])
    assert erased.exit_code == 0, erased.output
    assert "destroyed" in erased.output

    store = platform.stack.store
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run)
    opened = [_opening(platform).decode(row.payload) for row in archived]
    goal = next(e for e in opened if isinstance(e, m.GoalSubmitted))
    assert is_sealed(goal.inputs_json)
    assert is_sealed(goal.goal)
    assert all(EMAIL not in repr(e.model_dump()) for e in opened)
    assert len(erased_fields(opened, default_codec().sensitive)) >= 4

    replayed = runner.invoke(app, ["replay", run, "--verify"])
    assert replayed.exit_code == 0, replayed.output
    assert "erased:" in replayed.output
    assert "inputs_json" in replayed.output
    assert "not re-checked" in replayed.output

    kid = KeyRing(store, MasterKey.from_b64(platform.keys.pii_master)).kid("acme", SUBJECT)
    deadline = time.monotonic() + 30
    while True:
        with store.transaction(read_only=True) as conn:
            recorded = store.archive.latest_of_type(
                conn, m.SubjectErased.EVENT_TYPE, since=goal.envelope.occurred_at, limit=10
            )
        events = [default_codec().decode(r.payload) for r in recorded]
        if any(isinstance(e, m.SubjectErased) and e.subject_key == kid for e in events):
            break
        assert time.monotonic() < deadline, "the erasure was never recorded"
        time.sleep(0.2)

    verified = runner.invoke(audit_app, ["verify", "--database-url", url, *_trusting(platform)])
    assert verified.exit_code == 0, verified.output
    checked = runner.invoke(audit_app, ["verify-bundle", str(before), *_trusting(platform)])
    assert checked.exit_code == 0, checked.output
    after = tmp_path / "after.json"
    exported = runner.invoke(audit_app, ["export", run, "--out", str(after), "--database-url", url])
    assert exported.exit_code == 0, exported.output
    assert CANARY not in after.read_text(encoding="utf-8")
    checked = runner.invoke(audit_app, ["verify-bundle", str(after), *_trusting(platform)])
    assert checked.exit_code == 0, checked.output


def test_retention_erases_the_subjects_idle_past_their_tenants_limit_and_records_it(
    platform, monkeypatch
):
    _cli_env(platform, monkeypatch)
    store = platform.stack.store
    keys = KeyRing(store, MasterKey.from_b64(platform.keys.pii_master))
    tenant = f"ret{uuid.uuid4().hex[:6]}"
    old = keys.bind(f"old-{tenant}", tenant, "customer:old")
    recent = keys.bind(f"new-{tenant}", tenant, "customer:recent")
    with store.transaction() as conn:
        conn.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.kid == old)
            .values(last_bound_at=datetime.now(UTC) - timedelta(days=40))
        )
    policy = json.dumps({tenant: 30})
    dry = runner.invoke(app, ["retention", "--policy", policy, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert old in dry.output
    assert recent not in dry.output
    assert keys.key(old) is not None, "a dry run erases nothing"

    done = runner.invoke(app, ["retention", "--policy", policy])
    assert done.exit_code == 0, done.output
    assert "1 subject key(s) erased" in done.output
    fresh = KeyRing(store, MasterKey.from_b64(platform.keys.pii_master))
    assert fresh.key(old) is None
    assert fresh.key(recent) is not None
    deadline = time.monotonic() + 30
    while True:
        with store.transaction(read_only=True) as conn:
            rows = store.archive.latest_of_type(
                conn,
                m.SubjectErased.EVENT_TYPE,
                since=datetime.now(UTC) - timedelta(hours=1),
                limit=50,
            )
        recorded = [default_codec().decode(r.payload) for r in rows]
        mine = [e for e in recorded if isinstance(e, m.SubjectErased) and e.subject_key == old]
        if mine:
            break
        assert time.monotonic() < deadline, "the retention erasure was never recorded"
        time.sleep(0.2)
    assert (mine[0].reason, mine[0].policy_days, mine[0].destroyed) == ("retention", 30, True)

    bad = runner.invoke(app, ["retention", "--policy", '{"acme": "thirty"}'])
    assert bad.exit_code != 0
    assert "whole days" in str(bad.exception)  # `agentdeck` prints it as one line
