"""The five services as separate processes (the launcher the benchmark uses too), on a
fresh PostgreSQL database and topics of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from agentdeck.bench.processes import SERVICES, ServiceProcesses
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts.models import RunLimits
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded import free_port
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.kafka import ensure_topics, topic_specs
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store, migrate
from testkit.sql import Databases

__all__ = ["SERVICES", "Scene", "ServiceProcesses", "scene", "submit_refunds"]


@dataclass(frozen=True)
class Scene:
    """A migrated, seeded database and topics under a prefix of their own, on one broker."""

    store: Store
    url: str
    kafka: KafkaSettings
    root: Path

    def processes(
        self, llm_base_url: str, overrides: Mapping[str, Mapping[str, str]] | None = None
    ) -> ServiceProcesses:
        """The five services on this scene (started by the caller), logs under ``root``."""
        return ServiceProcesses(
            bootstrap=self.kafka.bootstrap_servers,
            prefix=self.kafka.topic_prefix,
            database_url=self.url,
            keys=load_or_create(self.root),
            approval_port=free_port(),
            llm_base_url=llm_base_url,
            logs=self.root,
            overrides=overrides,
        )


@contextmanager
def scene(bootstrap_servers: str, pg_admin: Engine, root: Path, word: str) -> Iterator[Scene]:
    """A :class:`Scene` whose database is dropped afterwards."""
    databases = Databases("postgresql", root, pg_admin)
    store = Store(databases.new_engine())
    try:
        migrate(store.engine, *SERVICE_SCHEMAS)
        SqlDesk(store).seed()
        prefix = f"{word}{uuid.uuid4().hex[:8]}"
        kafka = KafkaSettings(
            bootstrap_servers=bootstrap_servers, topic_prefix=prefix, partitions=3
        )
        ensure_topics(kafka, topic_specs(prefix, 3))
        url = store.engine.url.render_as_string(hide_password=False)
        yield Scene(store, url, kafka, root)
    finally:
        store.close()
        databases.close()


def submit_refunds(scene: Scene, marker: str, numbers: Iterable[int]) -> list[str]:
    """Submit a refund goal of 5.00 USD on order 2077 for each number; the run ids."""
    info = StackInfo(
        bootstrap_servers=scene.kafka.bootstrap_servers,
        topic_prefix=scene.kafka.topic_prefix,
        database_url=scene.url,
        data_dir=str(scene.root),
    )
    run_ids = []
    for n in numbers:
        event = goal_event(
            goal="refund",
            playbook="refund-order",
            inputs={"order_id": "2077", "amount_cents": 500, "reason": marker},
            tenant="acme",
            run_id=f"{marker}-{n}",
            requested_by="crm",
            limits=RunLimits(),
        )
        publish_goal(info, event)
        run_ids.append(event.envelope.run_id or "")
    return run_ids
