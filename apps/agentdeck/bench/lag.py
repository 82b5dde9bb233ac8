"""Consumer lag of every service's consumer group: records written but not yet committed.

The end of each partition is what a tail reader has seen (the highest offset
plus one), not the broker's ListOffsets answer: the embedded broker answers
that one wrongly, and a reader that only looks at offsets stays at the head.
The tail reader is one more consumer of every topic, so the probe runs only
while lag is being watched (the overload phase).
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, TopicPartition

from agentdeck.kafka import Topic, consumer_config, topic_specs
from agentdeck.settings import KafkaSettings

__all__ = ["GROUPS", "LagProbe"]

GROUPS: dict[str, tuple[Topic, ...]] = {
    "planner.runs": (Topic.GOALS, Topic.DECISIONS, Topic.APPROVALS, Topic.TOOL_RESULTS),
    "policy-checker.decide": (Topic.TOOL_CALLS,),
    "policy-checker.settle": (Topic.TOOL_RESULTS, Topic.APPROVALS),
    "tool-executor.calls": (Topic.DECISIONS, Topic.APPROVALS),
    "approval.decisions": (Topic.DECISIONS,),
    "telemetry.archive": tuple(Topic),
}
"""Each service loop's group (``<prefix>-<service>.<loop>``) and the topics it reads."""


class LagProbe:
    """Follows the end of every partition; reads each group's commits without joining it."""

    def __init__(self, kafka: KafkaSettings) -> None:
        prefix = kafka.topic_prefix
        counts = {spec.name: spec.partitions for spec in topic_specs(prefix, kafka.partitions)}
        self._partitions = {
            topic: [
                TopicPartition(topic.full(prefix), p) for p in range(counts[topic.full(prefix)])
            ]
            for topic in Topic
        }
        self._groups = {
            name: Consumer(consumer_config(kafka, "bench-lag", f"{prefix}-{name}"))
            for name in GROUPS
        }
        self._ends: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._tail = Consumer(consumer_config(kafka, "bench-tail", f"{prefix}-bench-tail"))
        self._tail.assign(
            [TopicPartition(tp.topic, tp.partition, 0) for tps in self._partitions.values()
             for tp in tps]
        )  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="bench-tail", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            for message in self._tail.consume(1000, 0.05):
                if message.error() is None:
                    key = (message.topic() or "", message.partition() or 0)
                    end = (message.offset() or 0) + 1
                    with self._lock:
                        self._ends[key] = max(self._ends.get(key, 0), end)

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until the tail reader has caught up with what is already written."""
        deadline = time.monotonic() + timeout_s
        seen: dict[tuple[str, int], int] | None = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with self._lock:
                now = dict(self._ends)
            if now == seen:
                return
            seen = now

    def lags(self) -> dict[str, int]:
        """Records each group has yet to commit, summed over its partitions."""
        with self._lock:
            ends = dict(self._ends)
        result: dict[str, int] = {}
        for name, consumer in self._groups.items():
            partitions = [tp for topic in GROUPS[name] for tp in self._partitions[topic]]
            total = 0
            for tp in consumer.committed(partitions, timeout=5):
                end = ends.get((tp.topic, tp.partition), 0)
                total += max(0, end - max(tp.offset, 0))
            result[name] = total
        return result

    def close(self) -> None:
        """Stop following; release the consumers."""
        self._stop.set()
        self._thread.join(5)
        self._tail.close()
        for consumer in self._groups.values():
            consumer.close()
