"""The compose file's own environment, with secrets made as docs/operations.md says, runs the demo.

No container engine here: the five services run as local processes with exactly the
environment compose would give them (hosts pointed at the test broker, PostgreSQL and
Redis), after the compose file's own topic and migration jobs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from agentdeck.embedded import free_port
from deploy._compose import interpolate
from testkit.processes import SERVICES
from testkit.sql import Databases

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "agentdeck.cli.app"]


def documented_secrets() -> dict[str, str]:
    """Run the operations doc's secret generator; its output is the compose `.env`."""
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    script = re.search(r"python - <<'EOF' > \.env\n(.*?)\nEOF\n", doc, re.DOTALL)
    assert script is not None
    out = subprocess.run(
        [sys.executable, "-c", script.group(1)], capture_output=True, text=True, check=True
    ).stdout
    pairs = (line.split("=", 1) for line in out.splitlines())
    return {name: value.strip("'") for name, value in pairs}


@pytest.fixture
def local(bootstrap_servers: str, pg_admin: Engine, tmp_path: Path) -> Iterator[dict[str, str]]:
    databases = Databases("postgresql", tmp_path, pg_admin)
    engine = databases.new_engine()
    yield {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": f"compose{uuid.uuid4().hex[:8]}",
        "KAFKA_PARTITIONS": "2",
        "AGENTDECK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "AGENTDECK_REDIS_URL": "redis://127.0.0.1:6379/0",
        "AGENTDECK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDECK_TELEMETRY_OTLP_ENDPOINT": "",  # no collector here: the trace file
    }
    engine.dispose()
    databases.close()


def _wait_ready(ports: dict[str, int], timeout_s: float = 90) -> set[str]:
    pending = dict(ports)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for name, port in list(pending.items()):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    del pending[name]
            except OSError:
                pass
        time.sleep(0.3)
    return set(pending)


def _wait_finished(run_id: str, env: dict[str, str], timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        shown = subprocess.run(
            [*CLI, "show", run_id], env=env, capture_output=True, text=True, check=False
        ).stdout
        if re.search(r"\b(completed|failed):", shown):
            return shown
        time.sleep(0.5)
    return shown


@pytest.mark.integration
def test_compose_environment_runs_the_readme_refund(local: dict[str, str], tmp_path: Path) -> None:
    secrets = documented_secrets()
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = interpolate(compose, secrets)["services"]
    approval_port = free_port()

    def env(name: str, health_port: int) -> dict[str, str]:
        own = {k: str(v) for k, v in services[name]["environment"].items()}
        return {
            **os.environ,
            **own,
            **local,
            "AGENTDECK_HEALTH_PORT": str(health_port),
            "AGENTDECK_APPROVAL_HTTP_PORT": str(approval_port),
        }

    for job in ("topics", "migrations"):
        script = services[job]["command"][0]
        subprocess.run([sys.executable, "-c", script], env=env(job, 0), check=True, timeout=120)
    ports = {name: free_port() for name in SERVICES}
    running = {}
    for name, port in ports.items():
        with (tmp_path / f"{name}.log").open("wb") as log:
            running[name] = subprocess.Popen(
                [sys.executable, "-m", services[name]["command"][0]],
                env=env(name, port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    try:
        assert _wait_ready(ports) == set()
        signing = {k: v for k, v in secrets.items() if k.startswith("AGENTDECK_CLI_")}
        cli = {**os.environ, **local, **signing, "COLUMNS": "200"}
        inputs = ["-i", 'order_id="1042"', "-i", "amount_cents=1500", "-i", "reason=late"]
        submitted = subprocess.run(
            [*CLI, "submit", "Refund order 1042", "--playbook", "refund-order", *inputs],
            env=cli,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        run_id = re.search(r"run-[0-9a-f]+", submitted)
        assert run_id is not None, submitted
        shown = _wait_finished(run_id.group(0), cli)
        assert "completed:" in shown, shown
        assert "create_refund" in shown
    finally:
        for process in running.values():
            process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
