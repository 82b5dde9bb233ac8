"""The embedded stack: broker, SQL store and hot state, up together and down together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.settings import CliSettings
from agentdeck.embedded import kafka_cluster
from agentdeck.hotstate import HotState, open_hot_state
from agentdeck.kafka import topic_specs
from agentdeck.settings import KafkaSettings, StoreSettings
from agentdeck.store import Store, current_revision


@dataclass(frozen=True)
class Stack:
    """Handles on a running stack."""

    kafka: KafkaSettings
    store: Store
    hot: HotState
    data_dir: Path
    embedded_broker: bool
    store_settings: StoreSettings

    def health(self) -> list[tuple[str, str, str]]:
        """(component, status, detail) for every component."""
        topics = topic_specs(self.kafka.topic_prefix, self.kafka.partitions)
        broker = "embedded Tansu" if self.embedded_broker else "external Kafka"
        rows = [
            ("broker", "ok", f"{broker} at {self.kafka.bootstrap_servers}, {len(topics)} topics")
        ]
        revision = current_revision(self.store.engine)
        rows.append(
            (
                "store",
                "ok" if revision else "not migrated",
                f"{self.store.engine.url.render_as_string()} (schema {revision})",
            )
        )
        kind = "Redis" if type(self.hot).__name__.startswith("Redis") else "in-process"
        rows.append(("hot state", "ok" if self.hot.ping() else "unreachable", kind))
        return rows


@contextlib.contextmanager
def embedded_stack(settings: CliSettings) -> Iterator[Stack]:
    """Start (or connect to) every component; stop what was started on exit."""
    data_dir = Path(settings.store.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        kafka = stack.enter_context(kafka_cluster(settings.kafka, log_path=data_dir / "broker.log"))
        store = Store.open(
            settings.store.database_url, data_dir=str(data_dir), schemas=SERVICE_SCHEMAS
        )
        stack.callback(store.close)
        hot = open_hot_state(settings.store.redis_url, prefix=settings.kafka.topic_prefix)
        stack.callback(hot.close)
        yield Stack(
            kafka, store, hot, data_dir, not settings.kafka.bootstrap_servers, settings.store
        )
