"""Errors of the credentials package: why a backend refused a per-call credential.

Every message names what did not match and never the token itself, so a
refusal can be logged or returned to a caller without leaking the credential.
"""

from __future__ import annotations

from agentdeck.errors import AgentdeckError

__all__ = [
    "BadSignature",
    "CredentialExpired",
    "CredentialMalformed",
    "CredentialMismatch",
    "CredentialNotYetValid",
    "CredentialRefused",
    "UnknownKey",
]


class CredentialRefused(AgentdeckError):
    """Root: a credential does not authorize the call it was presented for.

    Attributes:
        code: A stable, machine-readable reason (``expired``, ``wrong_call``...).
    """

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class CredentialMalformed(CredentialRefused):
    """The text is not a credential of this format (damaged, truncated, other algorithm)."""

    code = "malformed"


class UnknownKey(CredentialRefused):
    """The credential names a signing key the backend does not trust."""

    code = "unknown_key"


class BadSignature(CredentialRefused):
    """The signature does not match the header and claims: forged or altered."""

    code = "bad_signature"


class CredentialExpired(CredentialRefused):
    """The call the credential was minted for can no longer be running."""

    code = "expired"


class CredentialNotYetValid(CredentialRefused):
    """The credential's validity starts later than the backend's clock."""

    code = "not_yet_valid"


class CredentialMismatch(CredentialRefused):
    """The credential was minted for another audience, tool, call or arguments.

    ``code`` is ``wrong_audience``, ``wrong_tool``, ``wrong_call`` or ``wrong_arguments``.
    """
