"""Small adapters: the webhook notifier, settings from the environment."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentdeck.approval.adapters.webhook import WebhookNotifier
from agentdeck.approval.core import open_case
from agentdeck.approval.main import build
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.contracts import default_codec
from agentdeck.errors import ConfigError
from agentdeck.hotstate import InProcessHotState
from agentdeck.store import Store
from testkit.kafka import NOW, TEST_PRODUCER


def test_mappings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("AGENTDECK_APPROVAL_QUORUM", '{"high": 3}')
    monkeypatch.setenv("AGENTDECK_APPROVAL_BAND_ROLES", '{"high": "cfo"}')
    settings = ApprovalSettings()
    assert settings.rules().quorum == {"high": 3}
    assert settings.rules().band_roles == {"high": "cfo"}


def test_the_service_refuses_to_start_without_a_signing_key(tmp_path, monkeypatch):
    monkeypatch.delenv("AGENTDECK_APPROVAL_SIGNING_KEY", raising=False)
    with Store.open("", data_dir=str(tmp_path)) as store, pytest.raises(ConfigError, match="sign"):
        build(ApprovalSettings(), codec=default_codec(), store=store, hot=InProcessHotState())


def _request(make_decision, rules):
    return open_case(make_decision(), rules, now=NOW, producer=TEST_PRODUCER).request


def _drain(notifier: WebhookNotifier, done) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=notifier.run, args=(stop,))
    worker.start()
    deadline = time.monotonic() + 10
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    worker.join()


def test_a_webhook_receives_each_new_request(make_decision, rules):
    bodies = []

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        notifier = WebhookNotifier(f"http://127.0.0.1:{server.server_port}/", timeout_s=2)
        request = _request(make_decision, rules)
        notifier.notify(request)
        _drain(notifier, lambda: notifier.stats.sent == 1)
    finally:
        server.shutdown()
        server.server_close()
    assert bodies[0]["approval_id"] == request.approval_id
    assert bodies[0]["summary"] == request.summary
    assert bodies[0]["deadline"] == request.deadline.isoformat()


def test_an_unreachable_webhook_is_counted_and_never_raises(make_decision, rules):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        notifier = WebhookNotifier(f"http://127.0.0.1:{port}/", timeout_s=0.5)
        notifier.notify(_request(make_decision, rules))
        _drain(notifier, lambda: notifier.stats.failed == 1)
    assert (notifier.stats.sent, notifier.stats.failed) == (0, 1)


def test_a_full_queue_drops_notifications_instead_of_blocking(make_decision, rules):
    notifier = WebhookNotifier("http://127.0.0.1:9/", capacity=1)
    notifier.notify(_request(make_decision, rules))
    notifier.notify(_request(make_decision, rules))
    assert notifier.stats.dropped == 1
