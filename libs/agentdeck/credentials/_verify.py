"""Verifying: the backend checks signature, audience, tool, call, arguments and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentdeck.credentials._claims import Claims
from agentdeck.credentials._keys import CredentialKeys
from agentdeck.credentials._token import Payload, decode
from agentdeck.credentials.errors import (
    BadSignature,
    CredentialExpired,
    CredentialMismatch,
    CredentialNotYetValid,
    UnknownKey,
)

__all__ = ["verify"]


def _claims(key_id: str, payload: Payload) -> Claims:
    return Claims(
        key_id=key_id,
        token_id=payload.jti,
        issuer=payload.iss,
        audience=payload.aud,
        run_id=payload.run,
        call_id=payload.call,
        tool=payload.tool,
        args_sha256=payload.args,
        not_before=datetime.fromtimestamp(payload.nbf, UTC),
        not_after=datetime.fromtimestamp(payload.exp, UTC),
    )


def _match(field: str, expected: str | None, found: str) -> None:
    if expected is not None and found != expected:
        raise CredentialMismatch(
            f"the credential was minted for another {field}", code=f"wrong_{field}"
        )


def verify(
    token: str,
    keys: CredentialKeys,
    *,
    audience: str,
    tool: str,
    args_sha256: str,
    now: datetime,
    call_id: str | None = None,
    leeway: timedelta = timedelta(0),
) -> Claims:
    """The claims of ``token`` if it authorizes this request, else an error saying why.

    The signature is checked before any claim is trusted. A backend passes
    what it is about to serve: its own audience, the operation (tool), the
    hash of the request's arguments and, where the request names its call
    (an idempotency key), that call.

    Args:
        token: The credential as received.
        keys: The executors' public keys the backend trusts.
        audience: The backend's own name.
        tool: The tool whose operation is requested.
        args_sha256: SHA-256 of the request's canonical arguments.
        now: The backend's clock.
        call_id: The call the request claims to serve; None if the request names none.
        leeway: Clock skew tolerated at both ends of the validity.

    Raises:
        CredentialMalformed: Not a credential.
        UnknownKey: Signed by a key the backend does not trust.
        BadSignature: Forged or altered.
        CredentialMismatch: For another audience, tool, call or arguments.
        CredentialNotYetValid: Valid only later.
        CredentialExpired: The call's deadline has passed.
    """
    header, payload, signed, signature = decode(token)
    if not keys.knows(header.kid):
        raise UnknownKey(f"the credential is signed with unknown key {header.kid!r}")
    if not keys.signed(header.kid, signed, signature):
        raise BadSignature(f"the credential's signature does not verify with {header.kid!r}")
    claims = _claims(header.kid, payload)
    _match("audience", audience, claims.audience)
    _match("tool", tool, claims.tool)
    _match("call", call_id, claims.call_id)
    _match("arguments", args_sha256, claims.args_sha256)
    if now + leeway < claims.not_before:
        raise CredentialNotYetValid(f"the credential is valid from {claims.not_before.isoformat()}")
    if now - leeway >= claims.not_after:
        raise CredentialExpired(f"the credential expired at {claims.not_after.isoformat()}")
    return claims
