"""The identity provider's public keys (a JWKS), from a file or from its URL.

A key is chosen by the token's ``kid`` and must fit the token's algorithm:
a JWK that names another ``alg``, is not for signatures, or is symmetric
(``kty: oct``) is never used. A URL's key set is fetched on first use,
refreshed every ``refresh_s``, and fetched again for an unknown ``kid`` at
most every ``min_refetch_s``, so tokens with made-up key ids cannot turn
this service into a flood against the identity provider.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from agentdeck.approval.adapters.auth import AuthUnavailable
from agentdeck.errors import ConfigError

__all__ = ["JwksFile", "JwksSource", "JwksUrl", "parse_jwks"]

log = logging.getLogger(__name__)

Jwk = dict[str, Any]


class JwksSource(Protocol):
    """Where verification keys come from."""

    def key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key ``kid`` for algorithm ``alg``, or None if there is no such usable key.

        Raises:
            AuthUnavailable: the key set cannot be fetched and none is cached.
        """
        ...


def parse_jwks(text: str) -> list[Jwk]:
    """The keys of a JWKS document.

    Raises:
        ValueError: not a JWKS (``{"keys": [...]}``) or no key in it.
    """
    document = json.loads(text)
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        raise ValueError('a JWKS is a JSON object {"keys": [...]} with at least one key')
    return keys


def _fits(jwk: Jwk, kid: str | None, alg: str) -> bool:
    return (
        (kid is None or jwk.get("kid") == kid)
        and jwk.get("kty") != "oct"
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", alg) == alg
    )


def _select(keys: Sequence[Jwk], kid: str | None, alg: str) -> jwt.PyJWK | None:
    if kid is None and len(keys) != 1:
        return None  # without a kid only a single-key set is unambiguous
    for jwk in keys:
        if not _fits(jwk, kid, alg):
            continue
        try:
            return jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError:
            continue  # the key's type does not fit the algorithm (an RSA key for ES256)
    return None


class JwksFile:
    """A key set read once from a file (air-gapped sites, tests)."""

    def __init__(self, path: Path) -> None:
        """Raises: ConfigError: the file is missing or is not a JWKS."""
        try:
            self._keys = parse_jwks(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"unusable JWKS file {path}: {exc}") from exc

    def key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key ``kid`` for ``alg``, or None."""
        return _select(self._keys, kid, alg)


class JwksUrl:
    """A key set fetched from the identity provider and kept fresh."""

    def __init__(
        self,
        url: str,
        *,
        refresh_s: float = 300.0,
        min_refetch_s: float = 30.0,
        timeout_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._refresh_s = refresh_s
        self._min_refetch_s = min_refetch_s
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: list[Jwk] | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")

    def key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key ``kid`` for ``alg``, fetching the set when stale or when ``kid`` is new."""
        with self._lock:
            if self._keys is None or self._monotonic() - self._fetched_at >= self._refresh_s:
                self._refresh()
            found = _select(self._keys or [], kid, alg)
            if found is None:
                self._refresh()  # a rotated key: the provider may publish it by now
                found = _select(self._keys or [], kid, alg)
            return found

    def _refresh(self) -> None:
        now = self._monotonic()
        if now - self._attempted_at < self._min_refetch_s:
            if self._keys is None:
                raise AuthUnavailable("the approvers' JWKS is unreachable; retrying shortly")
            return
        self._attempted_at = now
        try:
            response = httpx.get(self._url, timeout=self._timeout_s)
            response.raise_for_status()
            self._keys = parse_jwks(response.text)
            self._fetched_at = now
        except (httpx.HTTPError, ValueError) as exc:
            if self._keys is None:
                raise AuthUnavailable(f"cannot fetch the approvers' JWKS: {exc}") from exc
            log.warning("JWKS refresh failed, keeping the keys fetched before: %s", exc)
