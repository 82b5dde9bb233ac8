"""Publishing events from several threads (HTTP workers, sweepers, model calls)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from agentdeck.contracts import Event
from agentdeck.kafka.errors import DeliveryFailed
from agentdeck.kafka.producer import EventProducer, Outbox

__all__ = ["Publisher"]


class Publisher:
    """Sends events and waits until Kafka acknowledged them; one caller at a time.

    The lock keeps one caller's delivery errors from being reported to
    another: :meth:`EventProducer.flush` reports every failure since the last
    flush. Its callers are human- or model-paced, so serialising costs nothing.
    """

    def __init__(self, producer: EventProducer, *, outbox: Outbox | None = None) -> None:
        """Args:
        outbox: Keeps what is published once acknowledged (``producer`` must keep
            what it sends); None: nothing is kept.
        """
        self._producer: EventProducer | None = producer
        self._outbox = outbox
        self._lock = threading.Lock()

    def publish(self, events: Sequence[Event], *, timeout_s: float = 10.0) -> None:
        """Send ``events`` and flush.

        Raises:
            DeliveryFailed: an event was not acknowledged in time, or the
                publisher is closed (the outbox keeps the events either way).
        """
        if not events:
            return
        with self._lock:
            if self._producer is None:
                raise DeliveryFailed(
                    "the publisher is closed",
                    capability="kafka.produce",
                    code="publisher_closed",
                    remediation=("the next start of the service publishes the outbox",),
                )
            self._producer.take_sent()  # what a failed publish sent is sent again below
            self._producer.send_all(events)
            self._producer.flush(timeout_s)
            if self._outbox is not None:
                self._outbox.keep(self._producer.take_sent())

    def close(self) -> None:
        """Deliver what is pending, then release the client and its connections."""
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
