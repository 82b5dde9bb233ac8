"""The five services as separate processes, configured only through the environment.

Each process is started with ``python -m agentdeck.<service>.main``, exactly as
a container would run it; several replicas of a service share its consumer
group, so Kafka spreads the partitions over them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from agentdeck.embedded_stack.identities import embedded_approvers, embedded_registry
from agentdeck.embedded_stack.keys import DemoKeys
from agentdeck.signing import generate_private_key

__all__ = ["SERVICES", "ServiceProcesses", "process_name"]

SERVICES = {
    "planner": ("agentdeck.planner.main", "AGENTDECK_PLANNER_"),
    "policy-checker": ("agentdeck.policy_checker.main", "AGENTDECK_POLICY_"),
    "approval": ("agentdeck.approval.main", "AGENTDECK_APPROVAL_"),
    "tool-executor": ("agentdeck.tool_executor.main", "AGENTDECK_EXECUTOR_"),
    "telemetry": ("agentdeck.telemetry.main", "AGENTDECK_TELEMETRY_"),
}


def process_name(service: str, replica: int) -> str:
    """``planner`` for the first replica, ``planner.2`` for the third."""
    return service if replica == 0 else f"{service}.{replica}"


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
        partitions: int = 3,
        redis_url: str = "redis://127.0.0.1:6379/0",
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        common: Mapping[str, str] | None = None,
    ) -> None:
        """Configure, start nothing yet.

        Args:
            overrides: Settings per service, without the service's prefix
                (``{"planner": {"PLAYBOOK_DIR": "..."}}``).
            common: More environment every service gets, names in full.
        """
        self._common = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "KAFKA_PARTITIONS": str(partitions),
            "AGENTDECK_DATABASE_URL": database_url,
            "AGENTDECK_REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
            "AGENTDECK_WRITER_KEYS": json.dumps(
                {k: w.model_dump() for k, w in keys.writers().items()}
            ),
            "AGENTDECK_PII_MASTER_KEY": keys.pii_master,
            **(common or {}),
        }
        self._prefix = prefix
        registry = logs / f"{prefix}-producers.json"
        registry.write_text(embedded_registry(keys).model_dump_json(), encoding="utf-8")
        self._own: dict[str, dict[str, str]] = {
            "planner": {
                "LLM_BASE_URL": llm_base_url,
                "PRODUCER_REGISTRY": str(registry),
                "SIGNING_KEY": keys.planner_private,
            },
            "policy-checker": {"SIGNING_KEY": keys.policy_private},
            "approval": {
                "SIGNING_KEY": keys.approval_private,
                "HTTP_PORT": str(approval_port),
                "APPROVERS": json.dumps(
                    {h: p.model_dump(mode="json") for h, p in embedded_approvers(keys).items()}
                ),
                "ALLOW_STATIC_TOKENS": "true",  # the bench is an embedded stack
                "POLICY_VERIFY_KEYS": json.dumps({"policy-1": keys.policy_public()}),
            },
            "tool-executor": {
                "POLICY_VERIFY_KEY": keys.policy_public(),
                "APPROVAL_VERIFY_KEY": keys.approval_public(),
                # Per-call credentials outlive no call: a key for this set of processes only.
                "CREDENTIAL_SIGNING_KEY": generate_private_key(),
            },
            "telemetry": {"CHECKPOINT_SIGNING_KEY": keys.checkpoint_private},
        }
        for service, values in (overrides or {}).items():
            self._own[service].update(values)
        self._logs = logs
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, service: str) -> dict[str, str]:
        """The environment ``service`` runs with."""
        _module, prefix = SERVICES[service]
        own = {f"{prefix}{k}": v for k, v in self._own[service].items()}
        own[f"{prefix}CONSUMER_GROUP"] = f"{self._prefix}-{service}"
        return {**os.environ, **self._common, **own}

    def start(self, service: str, replica: int = 0) -> None:
        """Start ``service`` (output to ``<logs>/<name>.log``, name as :func:`process_name`)."""
        module, _prefix = SERVICES[service]
        name = process_name(service, replica)
        with (self._logs / f"{name}.log").open("ab") as log:
            self._running[name] = subprocess.Popen(
                [sys.executable, "-m", module],
                env=self.env(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_all(self, replicas: Mapping[str, int] | None = None) -> None:
        """Start every service, ``replicas[service]`` times (once if not named)."""
        for service in SERVICES:
            for replica in range((replicas or {}).get(service, 1)):
                self.start(service, replica)

    def pids(self) -> dict[str, int]:
        """Process id of every running process, by name."""
        return {name: p.pid for name, p in self._running.items() if p.poll() is None}

    def kill(self, name: str) -> None:
        """SIGKILL ``name``: no shutdown code runs, as in a crash or an OOM kill."""
        process = self._running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def forget(self, name: str) -> None:
        """Forget ``name``, which ended on its own (see :meth:`exited`), so it can start again."""
        process = self._running.pop(name)
        process.wait()

    def pause(self, name: str) -> None:
        """SIGSTOP ``name``: it holds whatever it fetched and did not commit, doing nothing."""
        self._running[name].send_signal(signal.SIGSTOP)

    def alive(self, name: str) -> bool:
        """Whether ``name`` is running."""
        process = self._running.get(name)
        return process is not None and process.poll() is None

    def exited(self) -> dict[str, int]:
        """Processes that ended on their own, with their exit codes."""
        return {name: code for name, p in self._running.items() if (code := p.poll()) is not None}

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

    def log(self, name: str) -> str:
        """What ``name`` printed so far."""
        path = self._logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
