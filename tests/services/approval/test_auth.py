"""Static tokens are stored hashed, and the service fails closed on its auth configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from agentdeck.approval.adapters.auth import StaticTokens, token_hash
from agentdeck.approval.adapters.authenticators import authenticator_from
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.errors import ConfigError
from agentdeck.signing import generate_private_key

from ._idp import Idp
from .conftest import principal

ALICE = principal("alice", "support-lead")
TOKEN = "s3cret-alice-token"
ENTRY = {"name": "alice", "roles": ["support-lead"], "tenants": ["acme"]}


def test_a_static_token_is_known_by_its_hash_only():
    auth = StaticTokens({token_hash(TOKEN): ALICE})
    assert auth.identify(TOKEN) == ALICE
    assert auth.identify(TOKEN[:-1]) is None
    assert auth.identify(token_hash(TOKEN)) is None  # the stored hash is not a token
    assert auth.identify("") is None


def test_settings_from_the_environment_hold_hashes_roles_and_tenants_never_a_token(monkeypatch):
    monkeypatch.setenv("AGENTDECK_APPROVAL_APPROVERS", json.dumps({token_hash(TOKEN): ENTRY}))
    monkeypatch.setenv("AGENTDECK_APPROVAL_ALLOW_STATIC_TOKENS", "true")
    settings = ApprovalSettings()
    assert settings.approvers == {token_hash(TOKEN): ALICE}
    assert TOKEN not in settings.model_dump_json()
    assert authenticator_from(settings).identify(TOKEN) == ALICE


def test_a_plaintext_token_in_the_settings_is_refused_without_echoing_it():
    with pytest.raises(ValidationError, match="never the token itself") as refused:
        ApprovalSettings(approvers={TOKEN: ALICE}, allow_static_tokens=True)
    assert TOKEN not in str(refused.value)


@pytest.mark.parametrize("algorithm", ["none", "HS256", "HS512"])
def test_settings_refuse_algorithms_that_are_not_asymmetric(algorithm):
    with pytest.raises(ValidationError, match="asymmetric algorithms only"):
        ApprovalSettings(oidc_algorithms=("RS256", algorithm))


def test_a_jwks_url_must_be_https_except_on_loopback():
    with pytest.raises(ValidationError, match="must be https"):
        ApprovalSettings(oidc_jwks_url="http://idp.example.test/certs")
    assert ApprovalSettings(oidc_jwks_url="http://127.0.0.1:8080/certs").oidc_jwks_url


def test_no_authentication_at_all_stops_the_service():
    with pytest.raises(ConfigError, match="no approver authentication configured"):
        authenticator_from(ApprovalSettings())


def test_static_tokens_without_the_embedded_stacks_consent_stop_the_service():
    with pytest.raises(ConfigError, match="embedded stack only"):
        authenticator_from(ApprovalSettings(approvers={token_hash(TOKEN): ALICE}))


def test_half_an_oidc_configuration_stops_the_service(tmp_path):
    with pytest.raises(ConfigError, match="OIDC_AUDIENCE"):
        authenticator_from(ApprovalSettings(oidc_issuer="https://idp", oidc_jwks_file="x"))
    idp = Idp(tmp_path)
    both = idp.settings(oidc_jwks_url="https://idp.example.test/certs")
    with pytest.raises(ConfigError, match="not both"):
        authenticator_from(ApprovalSettings(**both))
    with pytest.raises(ConfigError, match="unusable JWKS file"):
        authenticator_from(ApprovalSettings(**idp.settings(oidc_jwks_file=str(tmp_path / "no"))))


def test_oidc_alone_is_a_complete_configuration(tmp_path):
    idp = Idp(tmp_path)
    auth = authenticator_from(ApprovalSettings(**idp.settings()))
    assert auth.identify(idp.token(sub="alice")) == ALICE


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTDECK_", "KAFKA_"))}
    signing = {"AGENTDECK_APPROVAL_SIGNING_KEY": generate_private_key()}
    return subprocess.run(
        [sys.executable, "-m", "agentdeck.approval.main"],
        env=clean | signing | env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "no approver authentication configured"),
        (
            {"AGENTDECK_APPROVAL_APPROVERS": json.dumps({TOKEN: ENTRY})},
            "bad setting approvers",
        ),
        (
            {"AGENTDECK_APPROVAL_APPROVERS": json.dumps({token_hash(TOKEN): ENTRY})},
            "embedded stack only",
        ),
    ],
)
def test_outside_the_embedded_stack_a_bad_auth_configuration_stops_the_service_in_one_line(
    env, says
):
    started = _start(env)
    assert started.returncode != 0
    assert started.stderr.count("\n") == 1, started.stderr
    assert says in started.stderr
    assert TOKEN not in started.stderr
