"""``agentdeck worker --tools PACKAGE``: a department's executor, running only its own tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console

from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import locate
from agentdeck.contracts import default_codec
from agentdeck.errors import ConfigError
from agentdeck.hotstate import open_hot_state
from agentdeck.settings import KafkaSettings, StoreSettings
from agentdeck.signing import generate_private_key
from agentdeck.store import Store

__all__ = ["worker"]

console = Console()


def _public_keys(data_dir: str) -> tuple[str, str]:
    """The embedded stack's verification keys (production passes them as settings)."""
    from agentdeck.embedded_stack.keys import DemoKeys  # noqa: PLC0415

    path = Path(data_dir) / "keys.json"
    if not path.exists():
        raise ConfigError(
            "no verification keys: set AGENTDECK_EXECUTOR_POLICY_VERIFY_KEY "
            "and AGENTDECK_EXECUTOR_APPROVAL_VERIFY_KEY"
        )
    keys = DemoKeys.model_validate(json.loads(path.read_text(encoding="utf-8")))
    return keys.policy_public(), keys.approval_public()


def worker(
    tools: Annotated[list[str], typer.Option("--tools", help="Module declaring the tools.")],
    *,
    name: Annotated[str, typer.Option(help="Consumer group suffix of this worker.")] = "worker",
) -> None:
    """Run an executor for the tools of PACKAGE only; calls to other tools are left alone."""
    from agentdeck.tool_executor.main import build, configured_registry  # noqa: PLC0415
    from agentdeck.tool_executor.settings import ToolExecutorSettings  # noqa: PLC0415

    stack = locate(CliSettings())
    base = ToolExecutorSettings()
    policy_key, approval_key = (
        (base.policy_verify_key.get_secret_value(), base.approval_verify_key.get_secret_value())
        if base.policy_verify_key and base.approval_verify_key
        else _public_keys(stack.data_dir)
    )
    store_settings = StoreSettings(database_url=stack.database_url, data_dir=stack.data_dir)
    settings = base.model_copy(
        update={
            "kafka": KafkaSettings(
                bootstrap_servers=stack.bootstrap_servers, topic_prefix=stack.topic_prefix
            ),
            "store": store_settings,
            "consumer_group": f"{stack.topic_prefix}-{name}",
            "tool_packages": tuple(tools),
            "ignore_foreign_tools": True,
            "policy_verify_key": SecretStr(policy_key),
            "approval_verify_key": SecretStr(approval_key),
            # on the embedded stack the worker's desk is in-process: a key of its own will do
            "credential_signing_key": base.credential_signing_key
            or SecretStr(generate_private_key()),
        }
    )
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    hot = open_hot_state(settings.store.redis_url, prefix=stack.topic_prefix)
    registry = configured_registry(settings, store)
    runner = build(settings, codec=default_codec(), store=store, hot=hot, tools=registry)
    console.print(f"worker {name}: running {', '.join(registry.names())}; Ctrl-C stops it")
    try:
        runner.run_until_signalled()
    finally:
        hot.close()
        store.close()
