"""Kafka plumbing: topics, producer, the batch consumer loop, dead letters, dedupe, admin."""

from __future__ import annotations

from agentdeck.kafka._config import consumer_config, producer_config
from agentdeck.kafka.admin import ensure_topics, wait_for_broker
from agentdeck.kafka.authority import ENTITLED, OPERATOR, EventAuthority, WriterKey
from agentdeck.kafka.consumer import BatchHandler, ConsumerLoop, Inbound, LoopStats, Outcome
from agentdeck.kafka.deadletter import dead_letter_for
from agentdeck.kafka.dedupe import InMemoryProcessedLog, ProcessedLog
from agentdeck.kafka.errors import BrokerUnavailable, DeliveryFailed
from agentdeck.kafka.follower import FollowerStats, TopicFollower
from agentdeck.kafka.headers import child_traceparent, new_traceparent, record_headers
from agentdeck.kafka.producer import EventProducer, Outbox, Published, record_key
from agentdeck.kafka.publisher import Publisher
from agentdeck.kafka.reader import TopicRead, read_topics
from agentdeck.kafka.topics import ROUTES, Topic, TopicSpec, topic_for, topic_specs

__all__ = [
    "ENTITLED",
    "OPERATOR",
    "ROUTES",
    "BatchHandler",
    "BrokerUnavailable",
    "ConsumerLoop",
    "DeliveryFailed",
    "EventAuthority",
    "EventProducer",
    "FollowerStats",
    "InMemoryProcessedLog",
    "Inbound",
    "LoopStats",
    "Outbox",
    "Outcome",
    "ProcessedLog",
    "Published",
    "Publisher",
    "Topic",
    "TopicFollower",
    "TopicRead",
    "TopicSpec",
    "WriterKey",
    "child_traceparent",
    "consumer_config",
    "dead_letter_for",
    "ensure_topics",
    "new_traceparent",
    "producer_config",
    "read_topics",
    "record_headers",
    "record_key",
    "topic_for",
    "topic_specs",
    "wait_for_broker",
]
