"""The running service's human boundary: tokens, tenants, bodies and what errors reveal."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentdeck.approval import client
from agentdeck.approval.client import ApprovalApiError
from agentdeck.store import Store

from ._idp import Idp

ALICE, ERIN = "tok-alice", "tok-erin"  # static: acme's support lead, globex's support lead
MB = 1024 * 1024


@pytest.fixture
def idp(tmp_path) -> Idp:
    return Idp(tmp_path)


@pytest.fixture
def url(engine, harness, idp) -> str:
    """The service with both static tokens and the identity provider's tokens."""
    return harness.start(Store(engine), **idp.settings()).base_url


def _visible(url: str, token: str, ids: list[str], timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        listed = {a.approval_id: a for a in client.list_pending(url, token)}
        if set(ids) <= set(listed) or time.monotonic() > deadline:
            return listed
        time.sleep(0.05)


def _refusal(call, *args) -> tuple[int, str]:
    with pytest.raises(ApprovalApiError) as caught:
        call(*args)
    return caught.value.status, caught.value.error


@pytest.mark.integration
def test_an_approver_of_another_tenant_can_neither_list_show_nor_decide_its_approvals(
    url, harness, idp, make_decision
):
    acme, globex = make_decision(tenant="acme"), make_decision(tenant="globex")
    harness.publish([acme, globex])
    everyone = idp.token(sub="root", tenants=["*"])  # explicitly platform-wide
    assert {acme.approval_id, globex.approval_id} <= set(
        _visible(url, everyone, [acme.approval_id, globex.approval_id])
    )
    globex_jwt = idp.token(sub="gina", tenants=["globex"])
    for outsider in (ERIN, globex_jwt):
        listed = {a.approval_id for a in client.list_pending(url, outsider)}
        assert globex.approval_id in listed
        assert acme.approval_id not in listed
        for call in (client.get, client.approve, client.deny):
            assert _refusal(call, url, outsider, acme.approval_id) == (404, "not_found")
            assert _refusal(call, url, outsider, "no-such-id") == (404, "not_found")
    mine = {a.approval_id for a in client.list_pending(url, ALICE)}
    assert acme.approval_id in mine
    assert globex.approval_id not in mine
    assert _refusal(client.approve, url, ALICE, globex.approval_id) == (404, "not_found")
    assert client.approve(url, ALICE, acme.approval_id, "mine to decide").status == "granted"


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_token_of_the_identity_provider_decides_with_its_name_and_role(
    url, harness, idp, make_decision
):
    decision = make_decision(tenant="acme")
    harness.publish([decision])
    token = idp.token(sub="alice@acme", roles=["support-lead", "auditor"], tenants=["acme"])
    assert decision.approval_id in _visible(url, token, [decision.approval_id])
    assert client.approve(url, token, decision.approval_id, "ok").status == "granted"
    assert client.get(url, token, decision.approval_id).votes[0].approver == "alice@acme"
    assert client.get(url, token, decision.approval_id).votes[0].role == "support-lead"


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_expired_foreign_and_unsigned_tokens_are_refused_with_401(url, idp):
    an_hour_ago = int(time.time()) - 3600
    refused = {
        "expired": idp.token(iat=an_hour_ago - 60, exp=an_hour_ago),
        "wrong audience": idp.token(aud="someone-else"),
        "wrong issuer": idp.token(iss="https://evil.example.test"),
        "wrong key": idp.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "alg none": idp.unsigned_token(),
        "hmac with the public key": idp.hmac_with_public_key(),
        "not a token": "tok-nobody",
    }
    for case, token in refused.items():
        response = httpx.get(f"{url}/approvals", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, case
        assert response.headers["WWW-Authenticate"] == "Bearer", case
        assert response.json()["error"] == "unauthenticated", case
    assert httpx.get(f"{url}/approvals").status_code == 401
    assert httpx.get(f"{url}/openapi.json").status_code == 401
    assert httpx.get(f"{url}/no/such/path").status_code == 401  # no probing without a token


def _post_head(url: str, path: str, length: int, token: str = "") -> bytes:
    host = urlsplit(url).netloc
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture
def raw(url) -> Iterator[socket.socket]:
    """A plain connection to the service: the test decides how much of a body it sends."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5.0) as sock:
        yield sock


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_huge_unauthenticated_post_is_answered_401_before_its_body_is_sent(url, raw):
    # 150 MB announced, 64 KiB sent: a server that read the body first would still be
    # waiting for the rest, and recv() would time out instead of returning the answer.
    raw.sendall(_post_head(url, "/approvals/x/approve", 150 * MB) + b"{" * 65536)
    answer = raw.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"www-authenticate: bearer" in answer.lower()


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_authenticated_body_above_the_limit_gets_413_before_it_is_sent(url, raw):
    raw.sendall(_post_head(url, "/approvals/x/approve", 150 * MB, ALICE) + b"{" * 65536)
    assert raw.recv(65536).startswith(b"HTTP/1.1 413 ")


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_streamed_body_above_the_limit_gets_413(url):
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 1 MiB without a Content-Length, 16 KiB at a time
            yield b" " * 16384

    response = httpx.post(
        f"{url}/approvals/x/approve",
        content=chunks(),
        headers={"Authorization": f"Bearer {ALICE}", "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_malformed_json_is_401_without_a_token_and_a_short_400_with_one(url):
    path = f"{url}/approvals/x/approve"
    headers = {"Content-Type": "application/json"}
    assert httpx.post(path, content=b"{oops", headers=headers).status_code == 401
    alice = headers | {"Authorization": f"Bearer {ALICE}"}
    answer = httpx.post(path, content=b"{oops", headers=alice)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_json")
    invalid = httpx.post(path, json={"comment": "x" * 3000}, headers=alice)
    assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid_request")
    for response in (answer, invalid):
        assert "/" not in response.text
        assert ".py" not in response.text
        assert "Traceback" not in response.text


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_page_may_run_only_its_own_script_and_talk_only_to_this_service(url):
    page = httpx.get(f"{url}/")
    script = re.search(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}';" in policy
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe" not in policy
