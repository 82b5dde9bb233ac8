"""Composition root of telemetry."""

from __future__ import annotations

from pathlib import Path

from agentdeck.contracts import Codec
from agentdeck.hotstate import HotState
from agentdeck.kafka import Topic
from agentdeck.privacy import sealing_codec
from agentdeck.runtime import Clock, ServiceRunner, Subscription, serve, utc_now
from agentdeck.store import Store
from agentdeck.telemetry.adapters.projection import RunsProjection
from agentdeck.telemetry.adapters.tables import SCHEMA
from agentdeck.telemetry.adapters.traces import RunTraces
from agentdeck.telemetry.adapters.tracing import open_sink
from agentdeck.telemetry.checkpoints import checkpoint_tasks
from agentdeck.telemetry.handlers import Archiver
from agentdeck.telemetry.settings import TelemetrySettings

__all__ = ["build", "main"]


def build(
    settings: TelemetrySettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    clock: Clock = utc_now,
) -> ServiceRunner:
    """Telemetry: one loop archiving every topic and keeping the runs projection."""
    # Telemetry seals what producers left in the clear and never reads personal data:
    # its spans and the archive need none, so sealed values stay sealed when it decodes.
    sealing = sealing_codec(codec, settings.privacy, store)
    codec = sealing.with_cipher(sealing.cipher, opens=False)
    del hot  # metrics counters will use it
    sink = open_sink(
        otlp_endpoint=settings.otlp_endpoint,
        trace_file=Path(settings.store.data_dir) / settings.trace_file,
    )
    traces = RunTraces(store, codec, sink, group=f"{settings.consumer_group}.archive")
    archiver = Archiver(
        store=store,
        clock=clock,
        traces=traces,
        runs=RunsProjection(traces.decode),
        seal=codec.seal,
        prepare=codec.prepare_events,
    )

    return ServiceRunner(
        settings,
        codec,
        [Subscription("archive", tuple(Topic), archiver, background=True)],
        tasks=[("traces", traces.run), *checkpoint_tasks(settings, store, clock=clock)],
        checks={"store": store.ping},
        store=store,
        clock=clock,
    )


def main() -> None:
    """Run telemetry alone, configured from the environment."""
    serve(
        "telemetry",
        TelemetrySettings,
        lambda settings, r: build(settings, codec=r.codec, store=r.store, hot=r.hot),
        schema=SCHEMA,
    )


if __name__ == "__main__":
    main()
