"""The floor: what the broker and the database cost with no platform around them.

``bare_pipeline`` runs the workload's shape with plain producers and consumers:
three relay processes pass a record around three topics (as a step goes
planner -> policy-checker -> tool-executor -> planner), each relay a batch
loop with the same client settings as the services (idempotent acks=all
producer, manual commits, the same fetch wait), and no decoding, policy,
signature, ledger or archive. ``durable_insert`` times one insert and commit.
"""

from __future__ import annotations

import multiprocessing
import statistics
import struct
import time
import uuid
from dataclasses import dataclass
from multiprocessing.synchronize import Event as StopFlag
from typing import Any

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine, text

from agentdeck.kafka import TopicSpec, consumer_config, ensure_topics, producer_config
from agentdeck.kafka.consumer import next_offsets
from agentdeck.settings import KafkaSettings

__all__ = ["HOPS", "BarePipeline", "durable_insert"]

HOPS = 3
"""Broker hops a step takes: tool-calls, decisions, tool-results."""

_STEP = struct.Struct(">I")


@dataclass(frozen=True)
class _Hop:
    source: str
    target: str
    done: str
    last: bool
    steps: int


def _relay(settings: KafkaSettings, hop: _Hop, stop: StopFlag) -> None:
    """A batch loop forwarding every record; the last hop counts steps and finishes runs."""
    source, target = hop.source, hop.target
    consumer = Consumer(consumer_config(settings, f"bare-{source}", f"{source}-relay"))
    producer = Producer(producer_config(settings, f"bare-{source}"))
    consumer.subscribe([source])
    while not stop.is_set():
        first = consumer.poll(settings.poll_timeout_s)
        if first is None:
            continue
        batch = [first, *consumer.consume(settings.batch_size, 0)]
        for message in batch:
            if message.error() is not None:
                continue
            value = message.value() or b""
            if hop.last:
                step = _STEP.unpack_from(value)[0] + 1
                value = _STEP.pack(step) + value[_STEP.size :]
                producer.produce(hop.done if step >= hop.steps else target, value, message.key())
            else:
                producer.produce(target, value, message.key())
        producer.flush()
        consumer.commit(offsets=next_offsets(batch), asynchronous=False)
    consumer.close()


@dataclass
class BarePipeline:
    """Three relay processes over fresh topics; ``runs`` drives records through them."""

    settings: KafkaSettings
    steps: int
    payload: bytes

    def __post_init__(self) -> None:
        prefix = f"bare{uuid.uuid4().hex[:8]}"
        partitions = self.settings.partitions
        self._topics = [f"{prefix}.hop{i}" for i in range(HOPS)]
        self._done = f"{prefix}.done"
        ensure_topics(
            self.settings, [TopicSpec(t, partitions) for t in [*self._topics, self._done]]
        )
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._relays = [
            context.Process(
                target=_relay,
                args=(
                    self.settings,
                    _Hop(
                        self._topics[i],
                        self._topics[(i + 1) % HOPS],
                        self._done,
                        i == HOPS - 1,
                        self.steps,
                    ),
                    self._stop,
                ),
                daemon=True,
            )
            for i in range(HOPS)
        ]
        for relay in self._relays:
            relay.start()
        self._producer = Producer(producer_config(self.settings, "bare-driver"))
        self._consumer = Consumer(consumer_config(self.settings, "bare-driver", f"{prefix}-driver"))
        self._consumer.subscribe([self._done])

    def pids(self) -> list[int]:
        """Process ids of the relays."""
        return [r.pid for r in self._relays if r.pid is not None]

    def runs(self, count: int, timeout_s: float = 120.0) -> list[float]:
        """Start ``count`` runs at once; each run's latency in seconds, in completion order."""
        started: dict[bytes, float] = {}
        for _ in range(count):
            key = uuid.uuid4().bytes
            started[key] = time.perf_counter()
            self._producer.produce(self._topics[0], _STEP.pack(0) + self.payload, key)
        self._producer.flush()
        latencies: list[float] = []
        deadline = time.monotonic() + timeout_s
        while started and time.monotonic() < deadline:
            for message in self._consumer.consume(500, 0.05):
                done = message.key()
                if message.error() is None and done in started:
                    latencies.append(time.perf_counter() - started.pop(done))
        if started:
            raise TimeoutError(f"{len(started)} bare runs did not finish in {timeout_s:.0f} s")
        return latencies

    def close(self) -> None:
        """Stop the relays."""
        self._stop.set()
        for relay in self._relays:
            relay.join(10)
            if relay.is_alive():
                relay.kill()
        self._consumer.close()


def durable_insert(engine: Engine, count: int = 300) -> dict[str, Any]:
    """Median and p95 milliseconds of one row inserted and committed, its own transaction."""
    samples: list[float] = []
    insert = text("INSERT INTO bench_floor (payload) VALUES (:p)")
    with engine.connect() as conn:
        # A real table: a temporary one skips the write-ahead log, so its commit is not durable.
        conn.execute(text("CREATE TABLE bench_floor (id serial PRIMARY KEY, payload text)"))
        conn.commit()
        try:
            for _ in range(count):
                start = time.perf_counter()
                conn.execute(insert, {"p": "x" * 300})
                conn.commit()
                samples.append((time.perf_counter() - start) * 1000)
        finally:
            conn.execute(text("DROP TABLE bench_floor"))
            conn.commit()
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
    }
