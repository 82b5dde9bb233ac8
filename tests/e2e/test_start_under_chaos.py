"""Every service started while its database connections are being dropped comes up and
works: none exits, and a run submitted afterwards completes."""

import threading
import time
import uuid

from sqlalchemy import create_engine

from agentdeck.bench.stack import terminate_connections
from agentdeck.cli.demo import wait_for_outcomes
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.telemetry.core.runs import RunStatus
from testkit.processes import SERVICES, Scene, scene, submit_refunds
from testkit.sql import PG_ADMIN_URL

STORM_S = 20.0
"""The longest the connections are dropped for: until every service met it at start."""


def test_services_started_while_their_connections_are_dropped_come_up_and_work(
    bootstrap_servers, pg_admin, tmp_path
):
    with scene(bootstrap_servers, pg_admin, tmp_path, "start") as here, ScriptedModel() as model:
        processes = here.processes(model.base_url)
        calm = threading.Event()
        storm = threading.Thread(target=_drop_connections, args=(here, calm), daemon=True)
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
            here.store.engine.dispose()  # its pooled connections were dropped too
            exited = processes.exited()
            assert exited == {}, {name: processes.log(name)[-1500:] for name in exited}
            met = [s for s in SERVICES if "database unavailable" in processes.log(s)]
            assert met, "no service met the dropped connections at start"
            [run_id] = submit_refunds(here, f"start-{uuid.uuid4().hex[:6]}", [0])
            outcomes = wait_for_outcomes(here.store, [run_id], timeout_s=90)
            assert processes.exited() == {}
        finally:
            processes.stop_all()
    assert outcomes[run_id].status is RunStatus.COMPLETED


def _drop_connections(here: Scene, calm: threading.Event) -> None:
    """Terminate every connection to the scene's database every 50 ms until ``calm``."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            while not calm.wait(0.05):
                terminate_connections(conn, here.store.engine.url.database or "")
    finally:
        admin.dispose()
