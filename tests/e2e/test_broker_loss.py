"""The broker loses its whole log mid-burst (the embedded one keeps it in memory): every run
still finishes, every call that ran is archived, and no effect happens twice; and what the
services had read and telemetry had not archived yet reaches the archive all the same.

The planner is frozen (SIGSTOP) once every run has started, so calls already
decided run while their outcomes pile up unread on the broker. Then every
service and the broker are killed, and the services restart on a new, empty
broker with the same database: what was in flight exists only in the
services' own state. The planner re-drives the runs whose calls have no
outcome; the policy-checker re-emits its journaled decisions and the executor
the outcomes in its effect ledger, so each run moves on without a call being
made again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from agentdeck.approval import client
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded import EmbeddedBroker, free_port
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.embedded_stack.keys import DemoKeys, load_or_create
from agentdeck.kafka import Topic, ensure_topics, topic_specs
from agentdeck.planner.adapters.tables import RunStateRow
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store, migrate
from agentdeck.store._models import ArchiveRow, ProcessedEventRow
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from agentdeck.tool_executor.adapters.tables import EffectRow
from testkit.kafka import backlog
from testkit.processes import ServiceProcesses
from testkit.sql import Databases

RUNS = 4
PROJECTION = RunsRepository()
REDRIVE = {"REDRIVE_AFTER_S": "2", "REDRIVE_INTERVAL_S": "0.5"}


@dataclass
class _Scene:
    """A fresh database seeded with the demo desk, keys, the scripted model, a run marker."""

    store: Store
    url: str
    prefix: str
    keys: DemoKeys
    root: Path
    llm: str
    marker: str
    approval_url: str = ""
    """The approval API of the latest :meth:`stack`."""

    def stack(
        self, name: str, *, republish_after_s: float = 30.0
    ) -> tuple[EmbeddedBroker, KafkaSettings, ServiceProcesses]:
        """A new, empty broker with the topics, and the five services on it, started."""
        broker = EmbeddedBroker(log_path=self.root / f"broker-{name}.log")
        broker.start()
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, topic_prefix=self.prefix)
        ensure_topics(kafka, topic_specs(self.prefix, 3))
        port = free_port()
        self.approval_url = f"http://127.0.0.1:{port}"
        services = ServiceProcesses(
            bootstrap=broker.bootstrap_servers,
            prefix=self.prefix,
            database_url=self.url,
            keys=self.keys,
            approval_port=port,
            llm_base_url=self.llm,
            logs=self.root,
            overrides={"planner": REDRIVE},
            common={"AGENTDECK_REPUBLISH_UNARCHIVED_AFTER_S": str(republish_after_s)},
        )
        services.start_all()
        return broker, kafka, services


@contextmanager
def _scene(pg_admin: Engine, root: Path, name: str) -> Iterator[_Scene]:
    databases = Databases("postgresql", root, pg_admin)
    store = Store(databases.new_engine())
    migrate(store.engine, *SERVICE_SCHEMAS)
    SqlDesk(store).seed()
    url = store.engine.url.render_as_string(hide_password=False)
    tag = uuid.uuid4().hex
    try:
        with ScriptedModel() as model:
            keys = load_or_create(root)
            yield _Scene(
                store, url, f"{name}{tag[:8]}", keys, root, model.base_url, f"{name}-{tag[:6]}"
            )
    finally:
        store.close()
        databases.close()


@pytest.mark.timeout(300)
def test_runs_finish_once_each_after_the_broker_loses_everything_in_flight(
    pg_admin: Engine, tmp_path: Path
) -> None:
    with _scene(pg_admin, tmp_path, "lost") as scene:
        store = scene.store
        first, kafka, before = scene.stack("1")
        try:
            run_ids = _submit(kafka, scene.url, tmp_path, scene.marker)
            _wait_for(lambda: len(_started(store, run_ids)) == RUNS, "every run started")
            before.pause("planner")  # frozen: outcomes of calls already decided pile up
            _wait_for(lambda: _unread_outcomes(kafka, scene.prefix) > 0, "an outcome nobody read")
            assert _open(store, run_ids), "every run ended before the broker was lost"
        finally:
            before.stop_all()
            first.stop()
        executed = _executed(store, run_ids)
        assert executed, "some calls ran before the loss"

        second, _kafka, after = scene.stack("2")
        try:
            outcomes = wait_for_outcomes(store, run_ids, timeout_s=90)
        finally:
            after.stop_all()
            second.stop()
        statuses = {r: outcomes[r].status if r in outcomes else None for r in run_ids}
        assert set(statuses.values()) == {RunStatus.COMPLETED}, (statuses, after.log("planner"))
        _each_refund_once(scene)
        assert _archived_outcomes(store, run_ids) >= executed, "every call that ran is archived"


@pytest.mark.timeout(300)
def test_events_read_but_never_archived_when_the_broker_lost_its_log_reach_the_archive(
    pg_admin: Engine, tmp_path: Path
) -> None:
    # Telemetry is frozen from the start: every run completes, each service having read
    # what it needed, and the archive holds none of it. Then the broker loses everything.
    with _scene(pg_admin, tmp_path, "gap") as scene:
        store = scene.store
        first, kafka, before = scene.stack("1", republish_after_s=2)
        before.pause("telemetry")
        try:
            run_ids = _submit(kafka, scene.url, tmp_path, scene.marker)
            _wait_for(lambda: _ended_in_planner(store, run_ids), "every run ended", 90)
        finally:
            before.kill("telemetry")
            before.stop_all()
            first.stop()
        assert _unarchived(store), "the archive lacks what the services read"

        second, kafka, after = scene.stack("2", republish_after_s=2)
        try:
            # The goals came from outside: their producer publishes them again (the soak's does).
            _submit(kafka, scene.url, tmp_path, scene.marker)
            _wait_for(lambda: not _unarchived(store), "everything read is archived", 90)
        finally:
            after.stop_all()
            second.stop()
        _each_refund_once(scene)


@pytest.mark.timeout(300)
def test_a_parked_call_whose_decision_never_reached_the_approval_service_gets_its_case(
    pg_admin: Engine, tmp_path: Path
) -> None:
    # The approval service is frozen: the decision that parks the refund is archived and
    # read by the planner and the executor, never by approval. Then the broker loses it.
    with _scene(pg_admin, tmp_path, "parked") as scene:
        store = scene.store
        first, kafka, before = scene.stack("1")
        before.pause("approval")
        try:
            [run] = _submit(kafka, scene.url, tmp_path, scene.marker, runs=1, cents=12_000)
            _wait_for(lambda: _parked_decision_archived(store, run), "the parking decision")
        finally:
            before.kill("approval")
            before.stop_all()
            first.stop()

        second, _kafka, after = scene.stack("2")
        token = scene.keys.approver_tokens["alice"]
        try:
            # Re-driven ten times later than a call no human holds (REDRIVE_AFTER_S 2 s).
            _wait_for(lambda: _pending(scene.approval_url, token, run), "the case opened", 90)
            [approval_id] = _pending(scene.approval_url, token, run)
            client.approve(scene.approval_url, token, approval_id, "late but fine")
            _wait_for(lambda: _status(store, run) is RunStatus.COMPLETED, "completed", 90)
        finally:
            after.stop_all()
            second.stop()
        [refund] = [r for r in SqlDesk(store).refunds() if r.reason == scene.marker]
        assert refund.amount_cents == 12_000


def _parked_decision_archived(store: Store, run_id: str) -> bool:
    codec = default_codec()
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run_id)
    decided = [codec.decode(a.payload) for a in archived if a.event_type.endswith("Decided")]
    return any(
        isinstance(d, m.PolicyDecided) and d.outcome is m.DecisionOutcome.REQUIRE_APPROVAL
        for d in decided
    )


def _status(store: Store, run_id: str) -> RunStatus | None:
    with store.transaction(read_only=True) as conn:
        run = PROJECTION.get(conn, run_id)
    return None if run is None else run.status


def _pending(approval_url: str, token: str, run_id: str) -> list[str]:
    try:
        views = client.list_pending(approval_url, token)
    except (client.ApprovalApiError, httpx.HTTPError):
        return []  # not serving yet
    return [v.approval_id for v in views if v.run_id == run_id]


def _each_refund_once(scene: _Scene) -> None:
    refunds = [r for r in SqlDesk(scene.store).refunds() if r.reason == scene.marker]
    assert len(refunds) == RUNS, f"{len(refunds)} refunds for {RUNS} runs: an effect repeated"


def _ended_in_planner(store: Store, run_ids: list[str]) -> bool:
    ended = select(RunStateRow.run_id).where(
        RunStateRow.run_id.in_(run_ids), RunStateRow.final_event_id.is_not(None)
    )
    with store.transaction(read_only=True) as conn:
        return len(conn.execute(ended).all()) == len(run_ids)


def _unarchived(store: Store) -> set[str]:
    """The events some service processed that the archive does not hold (the test's own
    database: every processed event is this test's)."""
    missing = select(ProcessedEventRow.event_id).where(
        ProcessedEventRow.event_id.not_in(select(ArchiveRow.event_id))
    )
    with store.transaction(read_only=True) as conn:
        return set(conn.execute(missing).scalars())


def _submit(
    kafka: KafkaSettings,
    url: str,
    data_dir: Path,
    marker: str,
    *,
    runs: int = RUNS,
    cents: int = 500,
) -> list[str]:
    info = StackInfo(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=kafka.topic_prefix,
        database_url=url,
        data_dir=str(data_dir),
    )
    run_ids = []
    for n in range(runs):
        event = goal_event(
            goal="refund",
            playbook="refund-order",
            inputs={"order_id": "2077", "amount_cents": cents, "reason": marker},
            tenant="acme",
            run_id=f"{marker}-{n}",
            requested_by="crm",
            limits=m.RunLimits(),
        )
        publish_goal(info, event)
        run_ids.append(event.envelope.run_id or "")
    return run_ids


def _wait_for(condition, what: str, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _started(store: Store, run_ids: list[str]) -> list[str]:
    with store.transaction(read_only=True) as conn:
        return [r for r in run_ids if PROJECTION.get(conn, r) is not None]


def _open(store: Store, run_ids: list[str]) -> list[str]:
    with store.transaction(read_only=True) as conn:
        runs = {r: PROJECTION.get(conn, r) for r in run_ids}
    return [r for r, run in runs.items() if run is None or not run.final]


def _unread_outcomes(kafka: KafkaSettings, prefix: str) -> int:
    return backlog(kafka, f"{prefix}-planner.runs", Topic.TOOL_RESULTS)[1]


def _executed(store: Store, run_ids: list[str]) -> set[str]:
    """The idempotency keys of the calls that ran to completion."""
    found = select(EffectRow.idempotency_key).where(
        EffectRow.run_id.in_(run_ids), EffectRow.status == "completed"
    )
    with store.transaction(read_only=True) as conn:
        return set(conn.execute(found).scalars())


def _archived_outcomes(store: Store, run_ids: list[str]) -> set[str]:
    codec = default_codec()
    keys: set[str] = set()
    with store.transaction(read_only=True) as conn:
        for run in run_ids:
            for archived in store.archive.read_run(conn, run):
                if archived.event_type.endswith("ToolCallCompleted"):
                    event = codec.decode(archived.payload)
                    assert isinstance(event, m.ToolCallCompleted)
                    keys.add(event.idempotency_key)
    return keys
