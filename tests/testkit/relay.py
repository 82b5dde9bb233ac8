"""A consumer process for crash tests: goals in, RunStarted out.

``python -m testkit.relay BOOTSTRAP PREFIX GROUP [--pause-after-flush MARKER]``.
With ``--pause-after-flush`` it writes MARKER once its first batch's outputs
are acknowledged and then waits, before committing, for the test to kill it.
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from agentdeck.contracts import default_codec
from agentdeck.kafka import ConsumerLoop, EventProducer, Topic
from agentdeck.settings import KafkaSettings
from testkit.kafka import TEST_PRODUCER, started_for


def main(argv: list[str]) -> None:
    """Run the relay until SIGTERM."""
    bootstrap, prefix, group = argv[:3]
    marker = Path(argv[4]) if len(argv) > 4 and argv[3] == "--pause-after-flush" else None
    settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    codec = default_codec()

    def pause(_outputs: int) -> None:
        if marker is not None:
            marker.write_text("flushed")
            time.sleep(3600)

    loop = ConsumerLoop(
        settings=settings,
        codec=codec,
        group=group,
        topics=[Topic.GOALS.full(prefix)],
        handler=started_for,
        producer=EventProducer(settings, codec, client_id="relay"),
        identity=TEST_PRODUCER,
        on_flushed=pause,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    loop.run(stop)


if __name__ == "__main__":
    main(sys.argv[1:])
