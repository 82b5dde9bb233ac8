"""Approvers' OIDC access tokens (JWT), verified against the identity provider's JWKS.

What is checked, in order: the header's ``alg`` is one the operator allowed
(never ``none``, never an HMAC: settings refuse both, so a public key can
never be used as a shared secret); the key is found by ``kid`` and its type
fits that algorithm; then the signature, ``exp``/``nbf``/``iat`` (with
leeway), ``iss`` and ``aud``. The principal's name, roles and tenants come
from configurable claims (a dotted path reaches nested claims, e.g.
Keycloak's ``realm_access.roles``); a claim may be a list or a
space-separated string.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from agentdeck.approval.adapters.jwks import JwksSource
from agentdeck.approval.core import Principal

__all__ = ["OidcAuthenticator", "OidcConfig"]

log = logging.getLogger(__name__)

_REQUIRED = ["exp", "iss", "aud"]


@dataclass(frozen=True)
class OidcConfig:
    """What a valid approver token looks like.

    Attributes:
        issuer: Required ``iss``.
        audience: Required ``aud`` (this service's client id).
        algorithms: Signature algorithms accepted (asymmetric only).
        name_claim: Claim naming the approver.
        roles_claim: Claim listing the approver roles.
        tenants_claim: Claim listing the tenants ("*": every tenant).
        leeway_s: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    """

    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    name_claim: str = "sub"
    roles_claim: str = "roles"
    tenants_claim: str = "tenants"
    leeway_s: float = 30.0


def _claim(claims: Mapping[str, Any], path: str) -> object:
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _names(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(v for v in value if isinstance(v, str) and v)
    return frozenset()


class OidcAuthenticator:
    """Turns a valid access token into a principal."""

    def __init__(self, config: OidcConfig, keys: JwksSource) -> None:
        self._config = config
        self._keys = keys

    def identify(self, token: str) -> Principal | None:
        """The principal ``token`` names, or None if it is not a valid token for us.

        Raises:
            AuthUnavailable: the identity provider's keys cannot be fetched.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        alg = header.get("alg")
        if alg not in self._config.algorithms:
            return None  # before any key lookup: an attacker's alg picks nothing
        key = self._keys.key(header.get("kid"), alg)
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(self._config.algorithms),
                audience=self._config.audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway_s,
                options={"require": _REQUIRED},
            )
        except jwt.PyJWTError as exc:
            log.debug("approver token refused: %s", exc)
            return None
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal | None:
        name = _claim(claims, self._config.name_claim)
        if not isinstance(name, str) or not name:
            return None
        roles = _names(_claim(claims, self._config.roles_claim))
        tenants = _names(_claim(claims, self._config.tenants_claim))
        return Principal(name=name, roles=roles, tenants=tenants)
