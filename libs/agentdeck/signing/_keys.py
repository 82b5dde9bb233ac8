"""Ed25519 signing keys: one service signs, every other service only verifies."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agentdeck.errors import ConfigError

__all__ = ["Signer", "Verifier", "generate_private_key", "message", "required_signer"]

_SEPARATOR = b"\x1f"


def message(domain: str, fields: Sequence[str]) -> bytes:
    """The bytes a signature covers: a domain tag, then the fields, unit-separated.

    The domain tag keeps a signature made for one purpose (a decision) from
    being replayed as another (an approval).
    """
    parts = [domain, *fields]
    if any("\x1f" in part for part in parts):
        raise ValueError("signed fields may not contain the unit separator")
    return _SEPARATOR.join(part.encode() for part in parts)


def generate_private_key() -> str:
    """A new private key, base64 of its 32 raw bytes (what settings hold)."""
    raw = Ed25519PrivateKey.generate().private_bytes_raw()
    return base64.b64encode(raw).decode()


def _decode(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{what} is not base64") from exc
    if len(raw) != 32:
        raise ConfigError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


class Signer:
    """Signs messages with one private key, named by ``key_id``."""

    def __init__(self, key_id: str, private_key_b64: str) -> None:
        self.key_id = key_id
        self._key = Ed25519PrivateKey.from_private_bytes(_decode(private_key_b64, key_id))

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._key.sign(data)

    def public_key_b64(self) -> str:
        """The matching public key, base64, for verifiers' settings."""
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()


def required_signer(key_id: str, private_key_b64: str | None, *, setting: str) -> Signer:
    """The signer a service cannot run without; ConfigError naming ``setting`` if it has no key.

    Args:
        key_id: Id the verifiers know the key by.
        private_key_b64: The private key (base64 of its 32 raw bytes), or None if unset.
        setting: The environment variable that holds it, for the error.
    """
    if private_key_b64 is None:
        raise ConfigError(
            f"{setting} is required: an Ed25519 private key, base64 "
            "(python -c 'from agentdeck.signing import generate_private_key as g; print(g())')"
        )
    return Signer(key_id, private_key_b64)


class Verifier:
    """Verifies signatures against a ring of public keys (several during key rotation)."""

    def __init__(self, public_keys_b64: Mapping[str, str]) -> None:
        self._keys = {
            key_id: Ed25519PublicKey.from_public_bytes(_decode(value, key_id))
            for key_id, value in public_keys_b64.items()
        }

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``key_id``'s signature of ``data``; unknown keys fail."""
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def problem(self, key_id: str, data: bytes, signature: bytes) -> str | None:
        """Why ``signature`` is not ``key_id``'s of ``data``: ``unknown_key``, ``bad_signature``.

        None if it is.
        """
        if key_id not in self._keys:
            return "unknown_key"
        return None if self.verify(key_id, data, signature) else "bad_signature"
