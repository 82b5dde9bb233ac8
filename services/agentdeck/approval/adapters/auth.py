"""Who a bearer token belongs to: the port, hashed static tokens, and a chain of authenticators.

Static tokens exist for the embedded stack only (production verifies OIDC
tokens, :mod:`agentdeck.approval.adapters.oidc`). The service never holds
them in plaintext: settings carry ``sha256:<hex>`` of each token, and a
presented token is hashed and compared against every known hash in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Protocol

from agentdeck.approval.core import Principal
from agentdeck.errors import RetryableError

__all__ = [
    "TOKEN_HASH",
    "AuthUnavailable",
    "Authenticator",
    "FirstMatch",
    "StaticTokens",
    "token_hash",
]

TOKEN_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
"""The form of a stored static token: ``sha256:`` and 64 lowercase hex digits."""


class AuthUnavailable(RetryableError):
    """A token cannot be checked right now (the identity provider's keys are unreachable)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            capability="approval.authenticate",
            code="auth_unavailable",
            remediation=("retry shortly",),
        )


class Authenticator(Protocol):
    """Finds the principal a bearer token belongs to."""

    def identify(self, token: str) -> Principal | None:
        """The principal holding ``token``; None for an unknown or invalid token.

        Raises:
            AuthUnavailable: the token cannot be checked now; retrying may help.
        """
        ...


def token_hash(token: str) -> str:
    """What settings store for the static token ``token``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class StaticTokens:
    """Principals of the embedded stack, known by the SHA-256 hashes of their tokens."""

    def __init__(self, approvers: Mapping[str, Principal]) -> None:
        """Args: approvers: ``sha256:<hex>`` of a token -> its principal."""
        for key in approvers:
            if not TOKEN_HASH.match(key):
                raise ValueError("static approver keys must be sha256:<64 hex digits>")
        self._known = [(bytes.fromhex(k.removeprefix("sha256:")), p) for k, p in approvers.items()]

    def identify(self, token: str) -> Principal | None:
        """The principal holding ``token``, or None.

        Every known hash is compared, in constant time, so response times do
        not tell which entry (if any) came close.
        """
        if not token:
            return None
        given = hashlib.sha256(token.encode()).digest()
        found = None
        for known, who in self._known:
            if hmac.compare_digest(known, given):
                found = who
        return found


class FirstMatch:
    """Asks each authenticator in turn; the first that knows the token wins."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self._authenticators = authenticators

    def identify(self, token: str) -> Principal | None:
        """The first principal any authenticator finds for ``token``, or None."""
        for authenticator in self._authenticators:
            who = authenticator.identify(token)
            if who is not None:
                return who
        return None
