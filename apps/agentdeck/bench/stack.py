"""One benchmark stack: a fresh broker, the five services as processes, shared PostgreSQL.

Every phase gets a fresh embedded broker (the embedded broker slows down as
its log grows, so a phase never pays for the one before) unless an external
Kafka is given; all phases share one fresh PostgreSQL database, dropped at the
end, and Redis under a prefix of their own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from agentdeck.bench.processes import ServiceProcesses
from agentdeck.embedded import EmbeddedBroker
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.kafka import ensure_topics, topic_specs
from agentdeck.settings import KafkaSettings

__all__ = ["BenchStack", "fresh_database", "kafka_for_phase", "terminate_connections"]

_PLAYBOOKS = Path(__file__).parent / "playbooks"
_TOOLS = '["agentdeck.bench.tools"]'


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database next to ``admin_url``'s, dropped on exit; yields its URL."""
    name = f"agentdeck_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def terminate_connections(admin: Connection, database: str) -> None:
    """Terminate every connection to ``database`` but ``admin``'s own (chaos: a database
    restart, a network cut)."""
    admin.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = :db AND pid <> pg_backend_pid()"
        ),
        {"db": database},
    )


@contextlib.contextmanager
def kafka_for_phase(
    bootstrap: str | None, partitions: int, log_dir: Path
) -> Iterator[tuple[KafkaSettings, int | None]]:
    """Settings with a fresh topic prefix, and the pid of the embedded broker if one started."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    if bootstrap:
        yield (
            KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=partitions),
            None,
        )
        return
    with EmbeddedBroker(log_path=log_dir / f"broker-{prefix}.log") as broker:
        yield (
            KafkaSettings(
                bootstrap_servers=broker.bootstrap_servers,
                topic_prefix=prefix,
                partitions=partitions,
            ),
            broker.pid,
        )


@dataclass
class BenchStack:
    """The services of one phase, running against ``kafka`` and ``database_url``."""

    kafka: KafkaSettings
    database_url: str
    redis_url: str
    data_dir: Path
    replicas: Mapping[str, int]

    def __post_init__(self) -> None:
        ensure_topics(self.kafka, topic_specs(self.kafka.topic_prefix, self.kafka.partitions))
        logs = self.data_dir / self.kafka.topic_prefix
        logs.mkdir(parents=True, exist_ok=True)
        self.processes = ServiceProcesses(
            bootstrap=self.kafka.bootstrap_servers,
            prefix=self.kafka.topic_prefix,
            database_url=self.database_url,
            keys=load_or_create(self.data_dir),
            approval_port=0,
            llm_base_url="",
            logs=logs,
            partitions=self.kafka.partitions,
            redis_url=self.redis_url,
            overrides={
                "planner": {"PLAYBOOK_DIR": str(_PLAYBOOKS), "TOOL_PACKAGES": _TOOLS},
                "policy-checker": {"TOOL_PACKAGES": _TOOLS},
                "tool-executor": {"TOOL_PACKAGES": _TOOLS},
            },
        )
        self.processes.start_all(self.replicas)

    def check_alive(self) -> None:
        """RuntimeError naming a service that exited, with the end of its log."""
        for name, code in self.processes.exited().items():
            tail = self.processes.log(name)[-2000:]
            raise RuntimeError(f"{name} exited with code {code}:\n{tail}")

    def stop(self) -> None:
        """Stop every process."""
        self.processes.stop_all()
