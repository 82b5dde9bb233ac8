"""One full stack per module: real broker, PostgreSQL, Redis, all five services, scripted model."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdeck.cli.services import compose
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stack import Stack, embedded_stack
from agentdeck.cli.stackfile import StackInfo
from agentdeck.contracts import Codec, default_codec
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.embedded import free_port
from agentdeck.embedded_stack.keys import DemoKeys, load_or_create
from agentdeck.kafka import ensure_topics, topic_specs
from agentdeck.runtime import ServiceRunner
from agentdeck.settings import KafkaSettings, StoreSettings
from testkit import authority
from testkit.cli import point_cli_at
from testkit.privacy import opening
from testkit.sql import Databases


@dataclass
class Platform:
    """A running platform and how to reach it."""

    stack: Stack
    info: StackInfo
    keys: DemoKeys
    runners: list[ServiceRunner]

    def codec(self) -> Codec:
        """A codec that opens the stack's personal data (with its master key)."""
        return opening(default_codec(), self.stack.store)

    def token(self, who: str) -> str:
        """The demo bearer token of ``who``."""
        return self.keys.approver_tokens[who]


@contextlib.contextmanager
def running_platform(
    bootstrap_servers: str,
    pg_admin: Engine,
    root: Path,
    env: dict[str, str] | None = None,
    *,
    model_url: str = "",
) -> Iterator[Platform]:
    """Everything up on PostgreSQL and Redis under ``root``, with ``env`` set while it runs.

    The planner asks the scripted model, or the endpoint at ``model_url``.
    """
    databases = Databases("postgresql", root, pg_admin)
    url = databases.new_engine().url.render_as_string(hide_password=False)
    prefix = f"e2e{uuid.uuid4().hex[:10]}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix, partitions=3)
    ensure_topics(kafka, topic_specs(prefix, 3))
    settings = CliSettings(
        kafka=kafka,
        store=StoreSettings(
            database_url=url, redis_url="redis://127.0.0.1:6379/0", data_dir=str(root / "data")
        ),
    )
    port = free_port()
    with (
        embedded_stack(settings) as stack,
        ScriptedModel() as model,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        keys = load_or_create(Path(stack.data_dir)).model_copy(
            # One master key for the stack, the CLI and the tests (AGENTDECK_PII_MASTER_KEY).
            update={"pii_master": authority.PII_MASTER_KEY}
        )
        (Path(stack.data_dir) / "keys.json").write_text(keys.model_dump_json(), encoding="utf-8")
        runners = compose(stack, keys, llm_base_url=model_url or model.base_url, approval_port=port)
        for runner in runners:
            runner.start()
        info = StackInfo(
            bootstrap_servers=bootstrap_servers,
            topic_prefix=prefix,
            database_url=url,
            data_dir=str(stack.data_dir),
            approval_url=f"http://127.0.0.1:{port}",
        )
        try:
            yield Platform(stack, info, keys, runners)
        finally:
            for runner in runners:
                runner.stop()
    databases.close()


@pytest.fixture(scope="module")
def platform(
    bootstrap_servers: str, pg_admin: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Everything up on PostgreSQL and Redis; stopped after the module."""
    with running_platform(bootstrap_servers, pg_admin, tmp_path_factory.mktemp("e2e")) as up:
        yield up


@pytest.fixture
def cli_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """``platform``, with the CLI pointed at it for the test."""
    point_cli_at(platform.info, monkeypatch)
    return platform
