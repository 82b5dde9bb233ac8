"""What the benchmark proves beside speed: every run done once, every step recorded once.

Counted in the database the services wrote, for the runs one phase submitted
(their ids share the phase's tag): effect-ledger entries, archived tool
results and terminal events, and the records on the dead-letter topic.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import Engine, text

from agentdeck.kafka import Topic, consumer_config
from agentdeck.settings import KafkaSettings

__all__ = ["Ledger", "dead_letters", "ledger_of", "wait_archived"]


@dataclass(frozen=True)
class Ledger:
    """Counts for one phase's runs."""

    runs: int
    completed_runs: int
    effects: int
    effects_completed: int
    archived_tool_results: int
    archived_terminal_events: int

    def problems(self, submitted: int, steps: int) -> list[str]:
        """What is lost or duplicated (empty when every count is exact)."""
        expected = {
            "runs": submitted,
            "completed_runs": submitted,
            "effects": submitted * steps,
            "effects_completed": submitted * steps,
            "archived_tool_results": submitted * steps,
            "archived_terminal_events": submitted,
        }
        found = asdict(self)
        return [f"{k}: {found[k]} (expected {v})" for k, v in expected.items() if found[k] != v]

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON."""
        return asdict(self)


def ledger_of(engine: Engine, tag: str) -> Ledger:
    """The counts for runs whose id starts ``bench-<tag>-``."""
    like = {"p": f"bench-{tag}-%"}
    with engine.connect() as conn:
        runs, completed = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE status = 'completed') "
                "FROM runs WHERE run_id LIKE :p"
            ),
            like,
        ).one()
        effects, done = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE status = 'completed') "
                "FROM effect_ledger WHERE run_id LIKE :p"
            ),
            like,
        ).one()
        results, terminal = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE event_type = 'agentdeck.events.ToolCallCompleted'),"
                " count(*) FILTER (WHERE event_type IN ('agentdeck.events.RunCompleted',"
                " 'agentdeck.events.RunFailed', 'agentdeck.events.RunCancelled'))"
                " FROM event_archive WHERE run_id LIKE :p"
            ),
            like,
        ).one()
    return Ledger(runs, completed, effects, done, results, terminal)


def wait_archived(engine: Engine, tag: str, runs: int, timeout_s: float) -> float:
    """Seconds until the archive holds the terminal event of all ``runs`` (or the timeout)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if ledger_of(engine, tag).archived_terminal_events >= runs:
            break
        time.sleep(0.1)
    return time.perf_counter() - start


def dead_letters(kafka: KafkaSettings, *, quiet_s: float = 1.0) -> int:
    """Records on the dead-letter topic, counted by reading it (until ``quiet_s`` of silence).

    Read rather than asked of ListOffsets, which the embedded broker answers wrongly.
    """
    consumer = Consumer(consumer_config(kafka, "bench-dlq", f"{kafka.topic_prefix}-bench-dlq"))
    try:
        consumer.assign([TopicPartition(Topic.DEAD_LETTERS.full(kafka.topic_prefix), 0, 0)])
        count, last = 0, time.monotonic()
        while time.monotonic() - last < quiet_s:
            for message in consumer.consume(500, 0.1):
                if message.error() is None:
                    count += 1
                    last = time.monotonic()
        return count
    finally:
        consumer.close()
