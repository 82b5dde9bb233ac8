"""librdkafka configurations derived from :class:`KafkaSettings`."""

from __future__ import annotations

from typing import Any

from agentdeck.settings import KafkaSettings

__all__ = ["admin_config", "consumer_config", "producer_config"]


def _common(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": f"{settings.client_id_prefix}-{client_id}",
        "security.protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        config["sasl.mechanism"] = settings.sasl_mechanism
        config["sasl.username"] = settings.sasl_username or ""
        password = settings.sasl_password
        config["sasl.password"] = password.get_secret_value() if password else ""
    return config


def producer_config(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    """Idempotent, acks=all, small linger: durable and still batched."""
    return _common(settings, client_id) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": settings.linger_ms,
        "message.max.bytes": settings.max_message_bytes + 64_000,
    }


def consumer_config(settings: KafkaSettings, client_id: str, group: str) -> dict[str, Any]:
    """Manual commits only; offsets are stored by the loop after outputs are acknowledged.

    ``auto.offset.reset=earliest`` because a new group must see every event
    (and because ``latest`` is unreliable on the embedded broker).
    """
    return _common(settings, client_id) | {
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": settings.heartbeat_interval_ms,
        "fetch.wait.max.ms": settings.fetch_wait_max_ms,
        "enable.partition.eof": False,
        "isolation.level": "read_uncommitted",
    }


def admin_config(settings: KafkaSettings) -> dict[str, Any]:
    """For topic creation and metadata."""
    return _common(settings, "admin")
