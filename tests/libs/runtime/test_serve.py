"""``serve``: every service's ``main``; a bad configuration is one line and starts nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.errors import ConfigError
from agentdeck.runtime import Resources, ServiceRunner, serve
from agentdeck.settings import ServiceSettings

MAINS = {
    "planner": "agentdeck.planner.main",
    "policy-checker": "agentdeck.policy_checker.main",
    "approval": "agentdeck.approval.main",
    "tool-executor": "agentdeck.tool_executor.main",
    "telemetry": "agentdeck.telemetry.main",
}


def _never_built(_settings: ServiceSettings, _resources: Resources) -> ServiceRunner:
    raise AssertionError("built despite a refused configuration")


def test_a_configuration_the_check_refuses_is_one_line_and_opens_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AGENTDECK_DATABASE_URL", raising=False)

    def refuse(_settings: ServiceSettings) -> None:
        raise ConfigError("AGENTDECK_X_SIGNING_KEY is not set")

    with pytest.raises(SystemExit) as stopped:
        serve("svc", ServiceSettings, _never_built, check=refuse)

    assert str(stopped.value) == "svc: AGENTDECK_X_SIGNING_KEY is not set"
    assert not (tmp_path / "data").exists(), "the store was opened"


def test_a_bad_setting_names_the_setting_not_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTDECK_HEALTH_PORT", "70000")

    with pytest.raises(SystemExit) as stopped:
        serve("svc", ServiceSettings, _never_built)

    message = str(stopped.value)
    assert message.startswith("svc: bad setting health_port: ")
    assert "70000" not in message
    assert "\n" not in message


@pytest.mark.parametrize("service", list(MAINS))
def test_every_service_main_is_served_and_says_what_is_wrong_in_one_line(
    service: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTDECK_", "KAFKA_"))}
    bad = {"AGENTDECK_HEALTH_PORT": "70000", "AGENTDECK_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", MAINS[service]],
        env=clean | bad,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"{service}: bad setting health_port: Input should be less than or equal to 65535"
    ]
    assert list(tmp_path.iterdir()) == []
