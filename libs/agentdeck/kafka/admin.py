"""Explicit topic creation: topics exist with the right partition counts before any client runs."""

from __future__ import annotations

import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from agentdeck.errors import ConfigError
from agentdeck.kafka._config import admin_config
from agentdeck.kafka.errors import BrokerUnavailable
from agentdeck.kafka.topics import TopicSpec
from agentdeck.settings import KafkaSettings

__all__ = ["ensure_topics", "wait_for_broker"]


def wait_for_broker(settings: KafkaSettings, timeout_s: float = 10.0) -> None:
    """Return once the cluster answers a metadata request, else raise BrokerUnavailable."""
    admin = AdminClient(admin_config(settings))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=min(1.0, timeout_s))
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"no answer from {settings.bootstrap_servers}: {exc}",
                    capability="kafka.metadata",
                    code="broker_unreachable",
                    remediation=("check KAFKA_BOOTSTRAP_SERVERS", "start the broker"),
                ) from exc
            time.sleep(0.05)
        else:
            return


def ensure_topics(
    settings: KafkaSettings, specs: Sequence[TopicSpec], timeout_s: float = 15.0
) -> None:
    """Create missing topics; refuse existing ones with a different partition count.

    Topics are never left to auto-creation: a topic created by a stray
    producer would get the broker's default partition count and break the
    per-run ordering and scaling plan.
    """
    admin = AdminClient(admin_config(settings))
    existing = admin.list_topics(timeout=timeout_s).topics
    for spec in specs:
        if spec.name in existing and len(existing[spec.name].partitions) != spec.partitions:
            raise ConfigError(
                f"topic {spec.name} has {len(existing[spec.name].partitions)} partitions, "
                f"expected {spec.partitions}"
            )
    missing = [s for s in specs if s.name not in existing]
    if missing:
        _create(admin, missing, timeout_s)
    _await_metadata(admin, [s.name for s in specs], timeout_s)


def _create(admin: AdminClient, specs: Sequence[TopicSpec], timeout_s: float) -> None:
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=-1,
            config={"cleanup.policy": "compact"} if s.compacted else {},
        )
        for s in specs
    ]
    for name, future in admin.create_topics(new, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerUnavailable(
                    f"creating {name}: {exc}", capability="kafka.admin", code="create_topic_failed"
                ) from exc


def _await_metadata(admin: AdminClient, names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        topics = admin.list_topics(timeout=timeout_s).topics
        if all(n in topics and topics[n].partitions for n in names):
            return
        if time.monotonic() > deadline:
            raise BrokerUnavailable(
                f"topics {names} not visible after {timeout_s}s",
                capability="kafka.admin",
                code="topic_metadata_timeout",
            )
        time.sleep(0.05)
