"""Signatures over whole Kafka records: the signer's key id and signature travel as headers.

The signature covers the record value exactly as written (single-object
encoded Avro: marker, writer-schema fingerprint, body), so it binds the event
type and every field, and a foreign producer can make one with nothing but an
Ed25519 key: ``key.sign(value)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "KEY_ID_HEADER",
    "SIGNATURE_HEADER",
    "RecordSignature",
    "SigningKey",
    "record_signature",
    "sign_record",
]

KEY_ID_HEADER = "agentdeck-key-id"
"""Header naming the key that signed the record (UTF-8 key id)."""
SIGNATURE_HEADER = "agentdeck-signature"
"""Header holding the raw 64-byte Ed25519 signature of the record value."""


class SigningKey(Protocol):
    """A private key named by its key id (:class:`~agentdeck.signing.Signer` is one)."""

    @property
    def key_id(self) -> str:
        """Id the verifiers know the key by."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The signature of ``data``."""
        ...


@dataclass(frozen=True)
class RecordSignature:
    """The key id and signature a record carries (not yet verified)."""

    key_id: str
    signature: bytes


def sign_record(signer: SigningKey, value: bytes) -> list[tuple[str, bytes]]:
    """The headers that sign ``value`` with ``signer``'s key."""
    return [(KEY_ID_HEADER, signer.key_id.encode()), (SIGNATURE_HEADER, signer.sign(value))]


def record_signature(headers: Sequence[tuple[str, bytes | None]]) -> RecordSignature | None:
    """The signature a record's headers carry, or None if they carry none (or a malformed one).

    When a header repeats, the last one counts, as for every header we read.
    """
    key_id: bytes | None = None
    signature: bytes | None = None
    for name, value in headers:
        if name == KEY_ID_HEADER:
            key_id = value
        elif name == SIGNATURE_HEADER:
            signature = value
    if not key_id or signature is None or len(signature) != 64:
        return None
    try:
        return RecordSignature(key_id.decode(), signature)
    except UnicodeDecodeError:
        return None
