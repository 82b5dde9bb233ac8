"""Liveness and readiness over HTTP, as orchestrators probe them."""

import json
import urllib.request
from urllib.error import HTTPError

from agentdeck.embedded import free_port
from agentdeck.kafka import Topic
from agentdeck.runtime import ServiceRunner, Subscription
from agentdeck.settings import ServiceSettings
from testkit.kafka import started_for, wait_until


def _get(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_service_is_live_at_once_and_ready_once_its_loops_joined_and_checks_pass(kafka, codec):
    port = free_port()
    store_up = {"ok": False}
    settings = ServiceSettings(
        service_name="probe",
        consumer_group=f"{kafka.topic_prefix}-probe",
        kafka=kafka,
        health_port=port,
    )
    runner = ServiceRunner(
        settings,
        codec,
        [Subscription("goals", (Topic.GOALS,), started_for)],
        checks={"store": lambda: store_up["ok"]},
    )
    runner.start()
    try:
        wait_until(lambda: _get(port, "/livez")[0] == 200, timeout_s=10, what="liveness")
        status, body = _get(port, "/readyz")
        assert status == 503
        assert body["checks"]["store"] is False  # type: ignore[index]
        store_up["ok"] = True
        wait_until(lambda: _get(port, "/readyz")[0] == 200, timeout_s=20, what="readiness")
        assert _get(port, "/nope")[0] == 404
    finally:
        runner.stop()


def test_the_health_port_comes_from_the_shared_variable(monkeypatch):
    monkeypatch.setenv("AGENTDECK_HEALTH_PORT", "8081")
    assert ServiceSettings().health_port == 8081
    assert ServiceSettings(health_port=0).health_port == 0
