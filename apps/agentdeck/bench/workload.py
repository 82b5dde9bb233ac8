"""Submitting benchmark runs and timing them to completion, as a producer system would.

The driver publishes ``GoalSubmitted`` events for the bench playbook and
watches the runs topic for each run's terminal event. It reads only record
keys (the run id) and the event-type header, so watching costs next to
nothing beside the services it measures.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer

from agentdeck.contracts import default_codec
from agentdeck.contracts.models import RunLimits
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.kafka import EventProducer, Topic, consumer_config
from agentdeck.kafka.headers import EVENT_TYPE, header_value, record_headers
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer

__all__ = ["PLAYBOOK", "Driver", "Finished"]

PLAYBOOK = "bench-noop"
_TERMINAL = {
    b"agentdeck.events.RunCompleted": "completed",
    b"agentdeck.events.RunFailed": "failed",
    b"agentdeck.events.RunCancelled": "cancelled",
}


@dataclass(frozen=True)
class Finished:
    """How one run ended and how long it took from submission."""

    status: str
    latency_s: float


@dataclass
class _Watch:
    started: dict[str, float] = field(default_factory=dict)
    finished: dict[str, Finished] = field(default_factory=dict)
    terminal_events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


class Driver:
    """Submits runs to one stack and records when each finishes."""

    def __init__(
        self, kafka: KafkaSettings, *, tag: str, signer: Signer, tenant: str = "acme"
    ) -> None:
        """Watch ``kafka``'s runs topic; run ids ``bench-<tag>-...``; goals signed by ``signer``."""
        self._kafka = kafka
        self._tag = tag
        self._tenant = tenant
        self._producer = EventProducer(
            kafka, default_codec(), client_id="bench-driver", signer=signer
        )
        group = f"{kafka.topic_prefix}-bench-watch-{uuid.uuid4().hex[:6]}"
        self._consumer = Consumer(consumer_config(kafka, "bench-watch", group))
        self._consumer.subscribe([Topic.RUNS.full(kafka.topic_prefix)])
        self._watch = _Watch()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="bench-watch", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        watch = self._watch
        while not self._stop.is_set():
            messages = self._consumer.consume(500, 0.02)
            now = time.perf_counter()
            for message in messages:
                if message.error() is not None:
                    continue
                status = _TERMINAL.get(header_value(record_headers(message), EVENT_TYPE) or b"")
                if status is None:
                    continue
                run_id = (message.key() or b"").decode()
                with watch.lock:
                    watch.terminal_events += 1
                    start = watch.started.get(run_id)
                    if start is not None and run_id not in watch.finished:
                        watch.finished[run_id] = Finished(status, now - start)
                        watch.changed.notify_all()

    def submit(self, count: int, *, tag: str | None = None) -> list[str]:
        """Publish ``count`` goals at once; their run ids (``bench-<tag>-...``)."""
        runs = [f"bench-{tag or self._tag}-{uuid.uuid4().hex[:16]}" for _ in range(count)]
        events = [
            goal_event(
                goal="ten no-op steps",
                playbook=PLAYBOOK,
                inputs={},
                tenant=self._tenant,
                run_id=run,
                requested_by="bench",
                limits=RunLimits(),
            )
            for run in runs
        ]
        start = time.perf_counter()
        with self._watch.lock:
            self._watch.started.update(dict.fromkeys(runs, start))
        self._producer.send_all(events)
        self._producer.flush()
        return runs

    def wait(self, runs: Iterable[str], timeout_s: float) -> dict[str, Finished]:
        """How each of ``runs`` finished; TimeoutError naming how many did not in time."""
        wanted = list(runs)
        deadline = time.monotonic() + timeout_s
        watch = self._watch
        with watch.lock:
            while True:
                missing = [r for r in wanted if r not in watch.finished]
                remaining = deadline - time.monotonic()
                if not missing or remaining <= 0:
                    break
                watch.changed.wait(min(remaining, 0.5))
            if missing:
                raise TimeoutError(
                    f"{len(missing)} of {len(wanted)} runs did not finish in {timeout_s:.0f} s"
                )
            return {r: watch.finished[r] for r in wanted}

    def run(self, count: int, timeout_s: float) -> tuple[dict[str, Finished], float]:
        """Submit ``count`` runs at once and wait for all: how each ended, and the wall time."""
        start = time.perf_counter()
        finished = self.wait(self.submit(count), timeout_s)
        return finished, time.perf_counter() - start

    def terminal_events(self) -> int:
        """Terminal events seen (more than runs finished means a duplicate was published)."""
        with self._watch.lock:
            return self._watch.terminal_events

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        self._producer.close()
