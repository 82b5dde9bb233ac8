"""Pointing the ``agentdeck`` CLI at a running stack, as an operator's environment would."""

import pytest

from agentdeck.cli.stackfile import StackInfo


def point_cli_at(stack: StackInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the environment the CLI reads so that it talks to ``stack``."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", stack.topic_prefix)
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", stack.database_url)
    monkeypatch.setenv("AGENTDECK_DATA_DIR", stack.data_dir)
    monkeypatch.setenv("COLUMNS", "300")  # a table row on one line
