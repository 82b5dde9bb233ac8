"""A consumer killed after producing its outputs but before committing loses nothing,
and the duplicates its restart produces are suppressed downstream."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from agentdeck.contracts import Event
from agentdeck.kafka import EventProducer, Inbound, InMemoryProcessedLog, Topic
from testkit.kafka import goal, make_loop, read_topic, run_until

TESTS = Path(__file__).parents[2]


def _relay(kafka, group: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testkit.relay",
            kafka.bootstrap_servers,
            kafka.topic_prefix,
            group,
            *extra,
        ],
        env=env,
    )


def _wait_for(path: Path, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None, "the relay died on its own"
        assert time.monotonic() < deadline, "the relay never flushed a batch"
        time.sleep(0.05)


def test_a_consumer_killed_between_produce_and_commit_loses_nothing(kafka, codec, tmp_path):
    goals = [goal(n) for n in range(20)]
    producer = EventProducer(kafka, codec, client_id="source")
    producer.send_all(goals)
    producer.flush()
    group = f"{kafka.topic_prefix}-relay"
    marker = tmp_path / "flushed"

    first = _relay(kafka, group, "--pause-after-flush", str(marker))
    try:
        _wait_for(marker, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    runs = Topic.RUNS.full(kafka.topic_prefix)
    produced_before_kill = len(read_topic(kafka, runs, 20, timeout_s=5))
    assert produced_before_kill > 0, "the killed relay had produced outputs"

    second = _relay(kafka, group)
    try:
        raw = read_topic(kafka, runs, produced_before_kill + 20, timeout_s=60)
    finally:
        second.terminate()
        assert second.wait(20) == 0
    assert len(raw) == produced_before_kill + 20, "the uncommitted batch was redelivered"

    handled: list[str] = []

    def record(batch: Sequence[Inbound]) -> list[Event]:
        handled.extend(i.event.envelope.run_id or "" for i in batch)
        return []

    downstream = make_loop(
        kafka, codec, record, topic=Topic.RUNS, group="downstream", processed=InMemoryProcessedLog()
    )
    run_until(downstream, lambda: downstream.stats.consumed == len(raw))
    downstream.close()
    assert sorted(handled) == sorted(f"run-{n}" for n in range(20)), "no event lost, none twice"
    assert downstream.stats.duplicates == produced_before_kill
