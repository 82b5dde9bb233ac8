"""Where a running embedded stack can be reached: ``<data dir>/stack.json``.

``agentdeck up`` writes it when the stack is ready and removes it on exit;
every other command reads it when no cluster is configured, so ``agentdeck
submit`` finds the broker ``agentdeck up`` started on a free port.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

from agentdeck.cli.settings import CliSettings
from agentdeck.errors import ConfigError

__all__ = ["StackInfo", "forget", "locate", "remember"]


class StackInfo(BaseModel):
    """How to reach a running stack."""

    bootstrap_servers: str
    topic_prefix: str
    database_url: str
    data_dir: str
    approval_url: str = ""
    pid: int = 0


def _path(data_dir: str) -> Path:
    return Path(data_dir) / "stack.json"


def remember(info: StackInfo) -> None:
    """Record the running stack."""
    _path(info.data_dir).write_text(info.model_dump_json(indent=2), encoding="utf-8")


def forget(data_dir: str) -> None:
    """Remove the record of a stopped stack."""
    _path(data_dir).unlink(missing_ok=True)


def locate(settings: CliSettings) -> StackInfo:
    """The stack to talk to: the configured cluster, else the running embedded stack."""
    store = settings.store
    if settings.kafka.bootstrap_servers:
        return StackInfo(
            bootstrap_servers=settings.kafka.bootstrap_servers,
            topic_prefix=settings.kafka.topic_prefix,
            database_url=store.database_url,
            data_dir=store.data_dir,
            approval_url=settings.approval_url,
        )
    path = _path(store.data_dir)
    try:
        info = StackInfo.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(
            f"no running stack in {store.data_dir}: start one with `agentdeck up` "
            "or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    if info.pid and not _alive(info.pid):
        raise ConfigError(
            f"the stack recorded in {path} (pid {info.pid}) is not running: "
            "start one with `agentdeck up`"
        )
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
