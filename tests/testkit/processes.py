"""The five services as separate processes, configured only through the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from agentdeck.cli.keys import DemoKeys

__all__ = ["SERVICES", "ServiceProcesses"]

SERVICES = {
    "planner": ("agentdeck.planner.main", "AGENTDECK_PLANNER_"),
    "policy-checker": ("agentdeck.policy_checker.main", "AGENTDECK_POLICY_"),
    "approval": ("agentdeck.approval.main", "AGENTDECK_APPROVAL_"),
    "tool-executor": ("agentdeck.tool_executor.main", "AGENTDECK_EXECUTOR_"),
    "telemetry": ("agentdeck.telemetry.main", "AGENTDECK_TELEMETRY_"),
}


class ServiceProcesses:
    """Starts, kills and restarts service processes sharing one broker, database and Redis."""

    def __init__(
        self,
        *,
        bootstrap: str,
        prefix: str,
        database_url: str,
        keys: DemoKeys,
        approval_port: int,
        llm_base_url: str,
        logs: Path,
    ) -> None:
        self._common = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "KAFKA_PARTITIONS": "3",
            "AGENTDECK_DATABASE_URL": database_url,
            "AGENTDECK_REDIS_URL": "redis://127.0.0.1:6379/0",
            "PYTHONUNBUFFERED": "1",
        }
        self._prefix = prefix
        self._own = {
            "planner": {"LLM_BASE_URL": llm_base_url},
            "policy-checker": {"SIGNING_KEY": keys.policy_private},
            "approval": {
                "SIGNING_KEY": keys.approval_private,
                "HTTP_PORT": str(approval_port),
                "APPROVERS": json.dumps(
                    {
                        t: {"name": n, "role": "support-lead"}
                        for n, t in keys.approver_tokens.items()
                    }
                ),
                "POLICY_VERIFY_KEYS": json.dumps({"policy-1": keys.policy_public()}),
            },
            "tool-executor": {
                "POLICY_VERIFY_KEY": keys.policy_public(),
                "APPROVAL_VERIFY_KEY": keys.approval_public(),
            },
            "telemetry": {},
        }
        self._logs = logs
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, service: str) -> dict[str, str]:
        """The environment ``service`` runs with."""
        _module, prefix = SERVICES[service]
        own = {f"{prefix}{k}": v for k, v in self._own[service].items()}
        own[f"{prefix}CONSUMER_GROUP"] = f"{self._prefix}-{service}"
        return {**os.environ, **self._common, **own}

    def start(self, service: str) -> None:
        """Start ``service`` (its output goes to ``<logs>/<service>.log``)."""
        module, _prefix = SERVICES[service]
        with (self._logs / f"{service}.log").open("ab") as log:
            self._running[service] = subprocess.Popen(
                [sys.executable, "-m", module],
                env=self.env(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_all(self) -> None:
        """Start every service."""
        for service in SERVICES:
            self.start(service)

    def kill(self, service: str) -> None:
        """SIGKILL ``service``: no shutdown code runs, as in a crash or an OOM kill."""
        process = self._running.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def alive(self, service: str) -> bool:
        """Whether ``service`` is running."""
        process = self._running.get(service)
        return process is not None and process.poll() is None

    def stop_all(self) -> None:
        """SIGTERM everything, then SIGKILL what lingers."""
        for process in self._running.values():
            process.send_signal(signal.SIGTERM)
        for process in self._running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._running.clear()

    def log(self, service: str) -> str:
        """What ``service`` printed so far."""
        path = self._logs / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""
