"""Running a service: its consumer loops and background tasks, supervised, until told to stop."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import Any

from agentdeck.contracts import Codec, Event, Producer
from agentdeck.errors import ConfigError
from agentdeck.kafka import (
    BatchHandler,
    ConsumerLoop,
    EventAuthority,
    EventProducer,
    LoopStats,
    ProcessedLog,
)
from agentdeck.kafka.topics import Topic
from agentdeck.runtime._clock import Clock, utc_now
from agentdeck.runtime._health import HealthServer
from agentdeck.runtime._outbox import Republisher, StoreOutbox, outbox_for
from agentdeck.settings import KafkaSettings, ServiceSettings
from agentdeck.signing import SigningKey
from agentdeck.store import Store

__all__ = ["BackgroundTask", "ServiceRunner", "Subscription"]

log = logging.getLogger(__name__)

BackgroundTask = Callable[[threading.Event], None]
"""A function that works until the event is set (a deadline sweeper, an HTTP server)."""


@dataclass(frozen=True)
class Subscription:
    """One consumer loop of a service: what it reads and who handles it.

    The loop's consumer group is ``<service group>.<name>``; replicas of the
    service share it, so Kafka spreads the partitions over them. A
    ``background`` loop is off the path a step takes: it fetches with
    ``kafka.background_fetch_wait_max_ms``, so while idle it asks the broker
    far less often than the loops a step waits for.
    """

    name: str
    topics: tuple[Topic, ...]
    handler: BatchHandler
    processed: ProcessedLog | None = None
    background: bool = False
    events: tuple[type[Event], ...] = ()
    """The event types the handler acts on (others are committed undecoded); () for all."""


@dataclass
class _Worker:
    name: str
    thread: threading.Thread
    stats: LoopStats = field(default_factory=LoopStats)
    restarts: int = 0


class ServiceRunner:
    """Runs a service's loops and tasks in threads; restarts a loop or a task that crashes.

    A crash of a loop (a fatal client error, a bug outside the handler) is
    logged and the loop is rebuilt after a backoff; events are never lost
    because offsets are committed only after their outputs. A background task
    that raises is logged and started again after a backoff too.

    Every loop refuses events carrying authority unless they are signed by a
    writer the settings' writer registry entitles (``AGENTDECK_WRITER_KEYS``);
    a service whose loops act on such events does not start without one. With
    a ``signer`` every record the service publishes is signed. With a ``store``
    every record its loops publish is kept until the archive holds it, and
    published again should the broker lose it first (see
    :mod:`agentdeck.runtime._outbox`; ``AGENTDECK_REPUBLISH_UNARCHIVED_AFTER_S``).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        codec: Codec,
        subscriptions: Sequence[Subscription],
        *,
        tasks: Sequence[tuple[str, BackgroundTask]] = (),
        checks: Mapping[str, Callable[[], bool]] | None = None,
        signer: SigningKey | None = None,
        store: Store | None = None,
        clock: Clock = utc_now,
    ) -> None:
        writers = settings.trust.writer_keys
        if not writers and any(EventAuthority.needed_for(s.events) for s in subscriptions):
            raise ConfigError(
                f"AGENTDECK_WRITER_KEYS is not set: {settings.service_name} acts only on"
                " tool-call requests, decisions, approvals, run outcomes and kill switches"
                " signed by their writers' registered keys"
            )
        self._authority = EventAuthority(writers)
        self._signer = signer
        self.settings = settings
        self.identity = self.identity_of(settings)
        self._codec = codec
        self._subscriptions = subscriptions
        self._tasks = tasks
        self._outbox: StoreOutbox | None = None
        if store is not None:
            self._outbox = outbox_for(settings, store, clock=clock)
        if store is not None and self._outbox is not None:
            after = self._outbox.check_after
            republisher = Republisher(
                store,
                self.name,
                EventProducer(settings.kafka, codec, client_id=f"{self.name}-outbox"),
                clock=clock,
                check_after=after,
                give_up_after=timedelta(seconds=settings.store.unarchived_give_up_after_s),
                interval_s=max(0.5, after.total_seconds() / 6),
            )
            self._tasks = (*self._tasks, ("outbox", republisher.run))
        self._stop = threading.Event()
        self._workers: list[_Worker] = []
        self._loops: dict[str, ConsumerLoop] = {}
        self._checks = dict(checks or {})
        self.health: HealthServer | None = None
        if settings.health_port:
            ready = {"consumers": self._joined, **self._checks}
            self.health = HealthServer(settings.health_port, live=self.alive, ready=ready)
            self._tasks = (*self._tasks, ("health", self.health.serve))

    @staticmethod
    def identity_of(settings: ServiceSettings) -> Producer:
        """The producer identity a service's events carry."""
        return Producer(service=settings.service_name, version=settings.service_version)

    @property
    def name(self) -> str:
        """The service's name."""
        return self.settings.service_name

    def start(self) -> None:
        """Start every loop and task in its own thread."""
        for sub in self._subscriptions:
            self._workers.append(self._worker(sub.name, self._supervise, sub))
        for task_name, task in self._tasks:
            self._workers.append(self._worker(task_name, self._supervise_task, task))
        for worker in self._workers:
            worker.thread.start()

    def _worker(self, name: str, supervise: Callable[[Any, _Worker], None], what: Any) -> _Worker:
        """A worker whose thread runs ``supervise(what, worker)`` (not started yet)."""
        worker = _Worker(name, threading.Thread())
        worker.thread = threading.Thread(
            target=supervise, args=(what, worker), name=f"{self.name}.{name}", daemon=True
        )
        return worker

    def _loop(self, sub: Subscription) -> ConsumerLoop:
        kafka = self.settings.kafka
        if sub.background:
            kafka = kafka.model_copy(
                update={"fetch_wait_max_ms": kafka.background_fetch_wait_max_ms}
            )
        return ConsumerLoop(
            settings=kafka,
            codec=self._codec,
            group=f"{self.settings.consumer_group}.{sub.name}",
            topics=[topic.full(kafka.topic_prefix) for topic in sub.topics],
            handler=sub.handler,
            producer=self._producer(sub.name, kafka),
            identity=self.identity,
            processed=sub.processed,
            wanted=[self._codec.writer_of(t).full_name for t in sub.events] if sub.events else None,
            authority=self._authority,
            outbox=self._outbox,
        )

    def _producer(self, name: str, kafka: KafkaSettings) -> EventProducer:
        return EventProducer(
            kafka,
            self._codec,
            client_id=f"{self.name}-{name}",
            signer=self._signer,
            keep_sent=self._outbox is not None,
        )

    def _supervise(self, sub: Subscription, worker: _Worker) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                loop = self._loop(sub)
                self._loops[sub.name] = loop
                worker.stats = loop.stats
                loop.run(self._stop)
                stats = loop.stats
                log.info(
                    "%s.%s stopped: %d events in %d batches (%.1f a batch), %d produced",
                    self.name,
                    sub.name,
                    stats.consumed,
                    stats.batches,
                    stats.consumed / max(1, stats.batches),
                    stats.produced,
                )
            except Exception:  # a service must outlive one broken loop
                worker.restarts += 1
                log.exception("%s.%s crashed; restarting in %.1fs", self.name, sub.name, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _supervise_task(self, task: BackgroundTask, worker: _Worker) -> None:
        """Run ``task`` until it returns (stopped); a task that raises is started again
        after a backoff, as a crashed loop is (its database went away for a moment)."""
        backoff = 0.5
        while not self._stop.is_set():
            try:
                task(self._stop)
            except Exception:  # a service must outlive one broken task
                worker.restarts += 1
                log.exception("%s.%s crashed; restarting in %.1fs", self.name, worker.name, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            else:
                return

    def stats(self) -> dict[str, LoopStats]:
        """Counters of each loop, by subscription name."""
        return {w.name: w.stats for w in self._workers if w.name in self._loop_names()}

    def _loop_names(self) -> set[str]:
        return {sub.name for sub in self._subscriptions}

    def _joined(self) -> bool:
        names = self._loop_names()
        return all(name in self._loops and self._loops[name].joined for name in names)

    def alive(self) -> bool:
        """Whether every loop and task thread is running."""
        return bool(self._workers) and all(w.thread.is_alive() for w in self._workers)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask every loop and task to finish, and wait for them."""
        self._stop.set()
        for worker in self._workers:
            worker.thread.join(timeout_s)

    def run_until_signalled(self) -> None:
        """Start, then run until SIGINT or SIGTERM; the entry point of ``main.py``.

        A service process logs at INFO to stderr unless logging is configured already.
        """
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )

        def _on_signal(_signum: int, _frame: FrameType | None) -> None:
            self._stop.set()

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        self.start()
        self._stop.wait()
        self.stop()
