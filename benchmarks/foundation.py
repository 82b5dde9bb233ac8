"""Foundation benchmark: codec throughput (plain, and sealing personal data) and the bare broker.

``python benchmarks/foundation.py [--events N] [--round-trips N] [--json PATH]``

Starts a fresh embedded broker (or uses KAFKA_BOOTSTRAP_SERVERS), so numbers
are comparable run to run: the embedded broker slows as its log grows.
Prints a table and, with ``--json``, writes the same numbers as JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from agentdeck.contracts import Codec, Event, default_codec
from agentdeck.contracts.examples import example_message
from agentdeck.contracts.models import ToolCallRequested
from agentdeck.embedded import EmbeddedBroker
from agentdeck.privacy import KeyRing, MasterKey, Sealer
from agentdeck.store import Store


def _rate(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def codec_rates(codec: Codec, n: int) -> dict[str, float]:
    """Events per second encoding and decoding one typical event, and the mix of all types."""
    versions = codec.registry.versions()
    events: list[Event] = [codec.decode(example_message(v)) for v in versions]
    typical = next(e for e in events if isinstance(e, ToolCallRequested))
    data = codec.encode(typical)
    mix = [codec.encode(e) for e in events]
    per_mix = max(1, n // len(mix))
    start = time.perf_counter()
    for _ in range(per_mix):
        for event in events:
            codec.encode(event)
    encode_mix = per_mix * len(events) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(per_mix):
        for value in mix:
            codec.decode(value)
    decode_mix = per_mix * len(mix) / (time.perf_counter() - start)
    return {
        "encode_tool_call_per_s": _rate(lambda: codec.encode(typical), n),
        "decode_tool_call_per_s": _rate(lambda: codec.decode(data), n),
        "encode_all_types_per_s": encode_mix,
        "decode_all_types_per_s": decode_mix,
        "tool_call_bytes": float(len(data)),
    }


def round_trips(bootstrap: str, n: int, payload: bytes) -> dict[str, float]:
    """Produce one record, wait until a consumer has it, repeat: the bare hop latency."""
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=-1)])[topic].result()
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 0}
    )
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": topic,
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    samples: list[float] = []
    try:
        for i in range(n + 20):
            start = time.perf_counter()
            producer.produce(topic, payload)
            producer.flush()
            message = None
            while message is None or message.error() is not None:
                message = consumer.poll(1.0)
            if i >= 20:  # warm-up excluded
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        consumer.close()
    samples.sort()
    return {
        "round_trip_p50_ms": statistics.median(samples),
        "round_trip_p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "round_trip_mean_ms": statistics.fmean(samples),
    }


def sealing_codec_rates(n: int) -> dict[str, float]:
    """The same rates with personal data sealed per subject, as every service runs its codec.

    The subject keys live in a throw-away SQLite store; after the first event
    they come from the key ring's memory, as they do in a running service.
    """
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open("", data_dir=tmp)
        try:
            master = MasterKey.from_b64(base64.b64encode(os.urandom(32)).decode())
            sealing = default_codec().with_cipher(Sealer(KeyRing(store, master)))
            return {f"sealed_{k}": v for k, v in codec_rates(sealing, n).items()}
        finally:
            store.close()


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--round-trips", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    codec = default_codec()
    results: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "events": args.events,
        "round_trips": args.round_trips,
    }
    results |= codec_rates(codec, args.events)
    results |= sealing_codec_rates(args.events)
    payload = codec.encode(
        codec.decode(example_message(codec.registry.latest(ToolCallRequested.EVENT_TYPE)))
    )
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if external:
        results["broker"] = external
        results |= round_trips(external, args.round_trips, payload)
    else:
        with EmbeddedBroker() as broker:
            results["broker"] = "embedded tansu (fresh)"
            results |= round_trips(broker.bootstrap_servers, args.round_trips, payload)
    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
