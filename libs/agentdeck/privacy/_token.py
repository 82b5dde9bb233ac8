"""The sealed form of a value: ``sealed:v1:<kid>:<base64url of AES-SIV ciphertext>``.

AES-SIV (RFC 5297) with the key id, the event id and the field path as
associated data: a sealed value cannot be moved to another event or field, and
sealing is deterministic, so re-encoding an event gives the same bytes (its
leaf hash and record signature stay valid). An empty ciphertext is the sealed
form of a value whose subject was erased before it was written.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

__all__ = [
    "PREFIX",
    "erased_token",
    "is_sealed",
    "kid_of",
    "open_payload",
    "open_token",
    "payload_kid",
    "seal_payload",
    "seal_token",
]

PREFIX = "sealed:v1:"
_DOMAIN = b"agentdeck.pii.v1"


def is_sealed(value: str) -> bool:
    """Whether ``value`` is a sealed value (opened or not)."""
    return value.startswith(PREFIX)


def kid_of(token: str) -> str | None:
    """The key id a sealed value names, or None if ``token`` is not one."""
    if not is_sealed(token):
        return None
    kid, sep, _ = token[len(PREFIX) :].partition(":")
    return kid if sep and kid else None


def seal_token(key: AESSIV, kid: str, value: str, *, event_id: str, path: str) -> str:
    """``value`` sealed under ``key`` for one field of one event."""
    ciphertext = key.encrypt(value.encode(), _context(kid, event_id, path))
    return f"{PREFIX}{kid}:{base64.urlsafe_b64encode(ciphertext).rstrip(b'=').decode()}"


def erased_token(kid: str) -> str:
    """What is written in place of a value whose subject's key is already destroyed."""
    return f"{PREFIX}{kid}:"


def open_token(key: AESSIV, token: str, *, event_id: str, path: str) -> str | None:
    """The clear value of ``token``, or None if it does not open under ``key`` here."""
    kid = kid_of(token)
    if kid is None:
        return None
    body = token[len(PREFIX) + len(kid) + 1 :]
    if not body:
        return None
    try:
        ciphertext = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return key.decrypt(ciphertext, _context(kid, event_id, path)).decode()
    except (InvalidTag, ValueError):
        return None


def _context(kid: str, event_id: str, path: str) -> list[bytes]:
    return [_DOMAIN, kid.encode(), event_id.encode(), path.encode()]


_PAYLOAD = b"payload"


def seal_payload(key: AESSIV, kid: str, data: bytes) -> bytes:
    """A claim-checked payload sealed under ``key``: ``sealed:v1:<kid>:`` then the ciphertext."""
    return f"{PREFIX}{kid}:".encode() + key.encrypt(data, [_DOMAIN, kid.encode(), _PAYLOAD])


def payload_kid(data: bytes) -> str | None:
    """The key id a sealed payload names, or None if ``data`` is not a sealed payload."""
    if not data.startswith(PREFIX.encode()):
        return None
    kid, sep, _ = data[len(PREFIX) :].partition(b":")
    return kid.decode("ascii", "replace") if sep and kid else None


def open_payload(key: AESSIV, data: bytes) -> bytes | None:
    """The clear bytes of a sealed payload, or None if it does not open under ``key``."""
    kid = payload_kid(data)
    if kid is None:
        return None
    try:
        return key.decrypt(data[len(PREFIX) + len(kid) + 1 :], [_DOMAIN, kid.encode(), _PAYLOAD])
    except (InvalidTag, ValueError):
        return None
