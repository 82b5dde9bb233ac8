"""The embedded default: a Tansu broker started and stopped by the platform itself."""

from __future__ import annotations

from agentdeck.embedded._broker import EmbeddedBroker, free_port, kafka_cluster, tansu_binary

__all__ = ["EmbeddedBroker", "free_port", "kafka_cluster", "tansu_binary"]
