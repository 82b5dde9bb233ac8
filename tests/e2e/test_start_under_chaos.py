"""Every service started while its database connections are being dropped comes up and
works: none exits, and a run submitted afterwards completes."""

import threading
import time
import uuid

from sqlalchemy import create_engine, text

from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts.models import RunLimits
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded import free_port
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.kafka import ensure_topics, topic_specs
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store, migrate
from agentdeck.telemetry.core.runs import RunStatus
from testkit.processes import SERVICES, ServiceProcesses
from testkit.sql import PG_ADMIN_URL, Databases

STORM_S = 20.0
"""The longest the connections are dropped for: until every service met it at start."""


def test_services_started_while_their_connections_are_dropped_come_up_and_work(
    bootstrap_servers, pg_admin, tmp_path
):
    databases = Databases("postgresql", tmp_path, pg_admin)
    store = Store(databases.new_engine())
    migrate(store.engine, *SERVICE_SCHEMAS)
    SqlDesk(store).seed()
    url = store.engine.url.render_as_string(hide_password=False)
    prefix = f"start{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix, partitions=3)
    ensure_topics(kafka, topic_specs(prefix, 3))
    with ScriptedModel() as model:
        processes = ServiceProcesses(
            bootstrap=bootstrap_servers,
            prefix=prefix,
            database_url=url,
            keys=load_or_create(tmp_path),
            approval_port=free_port(),
            llm_base_url=model.base_url,
            logs=tmp_path,
        )
        calm = threading.Event()
        storm = threading.Thread(target=_drop_connections, args=(store, calm), daemon=True)
        storm.start()
        processes.start_all()
        try:
            deadline = time.monotonic() + STORM_S
            while time.monotonic() < deadline and not all(
                "database unavailable" in processes.log(s) or not processes.alive(s)
                for s in SERVICES
            ):
                time.sleep(0.1)
            calm.set()
            storm.join()
            store.engine.dispose()  # its pooled connections were dropped too
            exited = processes.exited()
            assert exited == {}, {name: processes.log(name)[-1500:] for name in exited}
            met = [s for s in SERVICES if "database unavailable" in processes.log(s)]
            assert met, "no service met the dropped connections at start"
            run_id = _submit(kafka, url, tmp_path)
            outcomes = wait_for_outcomes(store, [run_id], timeout_s=90)
            assert processes.exited() == {}
        finally:
            processes.stop_all()
    assert outcomes[run_id].status is RunStatus.COMPLETED
    store.close()
    databases.close()


def _drop_connections(store: Store, calm: threading.Event) -> None:
    """Terminate every connection to the store's database every 50 ms until ``calm``."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = store.engine.url.database
    try:
        with admin.connect() as conn:
            while not calm.wait(0.05):
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": name},
                )
    finally:
        admin.dispose()


def _submit(kafka: KafkaSettings, url: str, data_dir) -> str:
    info = StackInfo(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=kafka.topic_prefix,
        database_url=url,
        data_dir=str(data_dir),
    )
    event = goal_event(
        goal="refund",
        playbook="refund-order",
        inputs={"order_id": "2077", "amount_cents": 500, "reason": "start-under-chaos"},
        tenant="acme",
        run_id=f"start-{uuid.uuid4().hex[:8]}",
        requested_by="crm",
        limits=RunLimits(),
    )
    publish_goal(info, event)
    return event.envelope.run_id
