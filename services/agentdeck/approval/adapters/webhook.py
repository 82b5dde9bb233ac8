"""Best-effort webhook notifications of new and escalated approval requests.

:meth:`WebhookNotifier.notify` only enqueues, so the consumer loop and the
sweeper never wait for a slow receiver; a background task POSTs each
notification once with a short timeout. Failures and drops are logged and
counted, never retried: the approval queue (``GET /approvals``) is the
source of truth, the webhook only a nudge.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from agentdeck.contracts.models import ApprovalEscalated, ApprovalRequested

__all__ = ["NoNotifier", "Notifier", "WebhookNotifier", "WebhookStats", "payload_of"]

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Tells people that an approval waits for them."""

    def notify(self, event: ApprovalRequested | ApprovalEscalated) -> None:
        """Queue a notification; never blocks, never raises."""
        ...


class NoNotifier:
    """The notifier when no webhook is configured."""

    def notify(self, event: ApprovalRequested | ApprovalEscalated) -> None:
        """Do nothing."""


def payload_of(event: ApprovalRequested | ApprovalEscalated) -> dict[str, Any]:
    """The JSON body sent for ``event``."""
    body: dict[str, Any] = {
        "type": type(event).__name__,
        "event_id": event.envelope.event_id,
        "approval_id": event.approval_id,
        "run_id": event.envelope.run_id,
        "tenant": event.envelope.tenant,
    }
    if isinstance(event, ApprovalRequested):
        body |= {
            "tool": event.tool,
            "summary": event.summary,
            "risk_band": event.risk_band,
            "approver_role": event.approver_role,
            "quorum": event.quorum,
            "deadline": event.deadline.isoformat(),
        }
    else:
        body |= {"escalated_to": event.escalated_to, "deadline": event.new_deadline.isoformat()}
    return body


@dataclass
class WebhookStats:
    """Counters of the notifier."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0


class WebhookNotifier:
    """POSTs notifications to one URL from a background task.

    Args:
        url: Where to POST.
        timeout_s: Longest wait for one POST.
        capacity: Notifications held at most; beyond that new ones are dropped.
    """

    def __init__(self, url: str, *, timeout_s: float = 2.0, capacity: int = 1000) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(capacity)
        self.stats = WebhookStats()

    def notify(self, event: ApprovalRequested | ApprovalEscalated) -> None:
        """Queue a notification for ``event``; drop it if the queue is full."""
        try:
            self._queue.put_nowait(payload_of(event))
        except queue.Full:
            self.stats.dropped += 1
            log.warning("webhook queue full; dropped notice of %s", event.approval_id)

    def run(self, stop: threading.Event) -> None:
        """Send queued notifications until ``stop`` is set (a service background task)."""
        with httpx.Client(timeout=self._timeout_s) as client:
            while not stop.is_set():
                try:
                    body = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                self._send(client, body)

    def _send(self, client: httpx.Client, body: dict[str, Any]) -> None:
        try:
            response = client.post(self.url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.stats.failed += 1
            log.warning("webhook %s failed for %s: %s", self.url, body["approval_id"], exc)
        else:
            self.stats.sent += 1
