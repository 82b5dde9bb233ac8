"""Errors of the Kafka plumbing."""

from __future__ import annotations

from agentdeck.errors import RetryableError

__all__ = ["BrokerUnavailable", "DeliveryFailed"]


class BrokerUnavailable(RetryableError):
    """The cluster did not answer or refused an admin request."""


class DeliveryFailed(RetryableError):
    """Produced events were not acknowledged; the batch that caused them is retried."""
