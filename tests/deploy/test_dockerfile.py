"""The image: built from the sources only, runs as a non-root user, checks its own liveness."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = [arg for op, arg in final_stage() if op == "USER"]
    assert users
    uid, _, gid = users[-1].partition(":")
    assert int(uid) >= 10000
    assert int(gid) >= 10000


def test_the_image_checks_liveness_on_the_health_port() -> None:
    (check,) = [arg for op, arg in final_stage() if op == "HEALTHCHECK"]
    assert "/livez" in check
    assert "AGENTDECK_HEALTH_PORT" in check
    env = " ".join(arg for op, arg in final_stage() if op == "ENV")
    assert "AGENTDECK_HEALTH_PORT=8080" in env


def test_the_command_names_the_service_module() -> None:
    (entrypoint,) = [arg for op, arg in final_stage() if op == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m"]
    (command,) = [arg for op, arg in final_stage() if op == "CMD"]
    assert json.loads(command) == ["agentdeck.planner.main"]


def test_every_copied_source_exists_and_passes_the_dockerignore() -> None:
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    for op, arg in instructions():
        if op != "COPY" or arg.startswith("--from"):
            continue
        *sources, _target = shlex.split(arg)
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in allowed, source
