"""Approvers' OIDC tokens, verified against a fake identity provider's JWKS."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentdeck.approval.adapters.auth import AuthUnavailable
from agentdeck.approval.adapters.jwks import JwksFile, JwksUrl
from agentdeck.approval.adapters.oidc import OidcAuthenticator, OidcConfig
from agentdeck.approval.core import Principal

from ._idp import AUDIENCE, ISSUER, Idp

CONFIG = OidcConfig(issuer=ISSUER, audience=AUDIENCE, algorithms=("RS256", "ES256"))


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Idp:
    return Idp(tmp_path_factory.mktemp("idp"))


@pytest.fixture
def oidc(idp: Idp) -> OidcAuthenticator:
    return OidcAuthenticator(CONFIG, JwksFile(idp.jwks_file))


def test_a_token_signed_by_the_providers_key_names_its_approver_roles_and_tenants(idp, oidc):
    token = idp.token(sub="alice", roles=["support-lead", "finance"], tenants=["acme", "globex"])
    assert oidc.identify(token) == Principal(
        name="alice",
        roles=frozenset({"support-lead", "finance"}),
        tenants=frozenset({"acme", "globex"}),
    )
    assert oidc.identify(idp.token(kid="ec-1", sub="bob")).name == "bob"  # ES256 too


def test_claims_can_be_nested_or_space_separated(idp):
    config = OidcConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=("RS256",),
        name_claim="preferred_username",
        roles_claim="realm_access.roles",
        tenants_claim="scope_tenants",
    )
    token = idp.token(
        preferred_username="carol",
        realm_access={"roles": ["finance"]},
        scope_tenants="acme initech",
    )
    who = OidcAuthenticator(config, JwksFile(idp.jwks_file)).identify(token)
    assert who == Principal(
        name="carol", roles=frozenset({"finance"}), tenants=frozenset({"acme", "initech"})
    )


def _refused(idp: Idp) -> dict[str, str]:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    an_hour_ago = int(time.time()) - 3600
    return {
        "expired": idp.token(iat=an_hour_ago - 300, exp=an_hour_ago),
        "wrong audience": idp.token(aud="another-service"),
        "wrong issuer": idp.token(iss="https://evil.example.test"),
        "wrong key": idp.token(key=stranger),
        "unknown key id": idp.token(kid="nope", key=stranger),
        "alg none": idp.unsigned_token(),
        "hmac keyed with the public key": idp.hmac_with_public_key(),
        "no expiry": idp.token(exp=None),
        "no subject": idp.token(sub=None),
        "rsa key claimed as ec": idp.token(kid="rsa-1", key=idp.ec, alg="ES256"),
        "not a jwt": "tok-alice",
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong audience",
        "wrong issuer",
        "wrong key",
        "unknown key id",
        "alg none",
        "hmac keyed with the public key",
        "no expiry",
        "no subject",
        "rsa key claimed as ec",
        "not a jwt",
    ],
)
def test_invalid_tokens_name_nobody(idp, oidc, case):
    assert oidc.identify(_refused(idp)[case]) is None


def test_a_token_just_past_its_expiry_is_accepted_within_the_leeway(idp, oidc):
    just_now = int(time.time()) - 5
    assert oidc.identify(idp.token(iat=just_now - 60, exp=just_now)) is not None


def test_the_url_source_fetches_the_jwks_once_and_again_only_for_a_rotated_key(idp):
    now = [0.0]
    with idp.serving() as url:
        keys = JwksUrl(url, refresh_s=300, min_refetch_s=30, monotonic=lambda: now[0])
        oidc = OidcAuthenticator(CONFIG, keys)
        before = idp.fetches
        assert oidc.identify(idp.token()) is not None
        assert oidc.identify(idp.token(kid="ec-1")) is not None
        assert idp.fetches == before + 1
        now[0] = 31.0
        for n in range(5):  # made-up key ids: one fetch, then none until min_refetch_s passed
            assert oidc.identify(idp.token(kid=f"bogus-{n}", key=idp.rsa)) is None
        assert idp.fetches == before + 2
        new_key = idp.rotate_in("rsa-2")
        assert oidc.identify(idp.token(kid="rsa-2", key=new_key)) is None  # too soon to refetch
        now[0] = 62.0
        assert oidc.identify(idp.token(kid="rsa-2", key=new_key)) is not None
        assert idp.fetches == before + 3
        now[0] = 400.0  # past refresh_s: the set is fetched again, rsa-2 retired meanwhile
        idp.keys.pop("rsa-2")
        assert oidc.identify(idp.token(kid="rsa-2", key=new_key)) is None
        assert idp.fetches == before + 4


def test_an_unreachable_provider_is_unavailable_not_a_refusal(idp):
    with idp.serving() as url:
        pass  # the server is gone: its port refuses connections
    with pytest.raises(AuthUnavailable):
        OidcAuthenticator(CONFIG, JwksUrl(url, timeout_s=1)).identify(idp.token())
