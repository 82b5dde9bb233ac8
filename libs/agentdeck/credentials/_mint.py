"""Minting: the executor signs one credential per call, valid until the call's deadline."""

from __future__ import annotations

import math
import secrets
from datetime import datetime

from agentdeck.credentials._token import Header, Payload, encode
from agentdeck.signing import Signer

__all__ = ["mint"]


def _seconds(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("credential validity needs timezone-aware datetimes")
    return at.timestamp()


def mint(
    signer: Signer,
    *,
    issuer: str,
    audience: str,
    run_id: str,
    call_id: str,
    tool: str,
    args_sha256: str,
    not_before: datetime,
    not_after: datetime,
    token_id: str | None = None,
) -> str:
    """A signed credential for exactly one call of one tool with one set of arguments.

    Args:
        signer: The executor's credential key (the only holder of the private key).
        issuer: The executor's name.
        audience: The backend the credential is for; other backends refuse it.
        run_id: The run the call belongs to.
        call_id: The call's idempotency key (unique per run, step and attempt).
        tool: The tool being called.
        args_sha256: SHA-256 of the call's canonical arguments (:func:`args_sha256`).
        not_before: Start of validity, usually the moment the call starts.
        not_after: End of validity, the call's deadline (its timeout and retries).
        token_id: Unique id of the credential; random if None.

    Returns:
        The credential as a compact JWS (``header.claims.signature``, base64url).

    Raises:
        ValueError: Naive datetimes, or ``not_after`` not later than ``not_before``.
    """
    start, end = _seconds(not_before), _seconds(not_after)
    if end <= start:
        raise ValueError("a credential must expire after it becomes valid")
    payload = Payload(
        iss=issuer,
        aud=audience,
        jti=token_id or secrets.token_urlsafe(16),
        # whole seconds, rounded outward: a call is never refused for a fraction
        nbf=math.floor(start),
        exp=math.ceil(end),
        run=run_id,
        call=call_id,
        tool=tool,
        args=args_sha256,
    )
    return encode(Header(kid=signer.key_id), payload, signer.sign)
