"""The public keys a backend trusts for credentials: several at once during a rotation."""

from __future__ import annotations

from collections.abc import Mapping

from agentdeck.signing import Verifier

__all__ = ["CredentialKeys"]


class CredentialKeys:
    """Public keys (base64, by key id) of the executors whose credentials a backend accepts.

    A backend holds only these: it can check a credential but never mint one.
    During a rotation it lists the old and the new key until every credential
    signed with the old one has expired (one call timeout later).
    """

    def __init__(self, public_keys_b64: Mapping[str, str]) -> None:
        self._verifier = Verifier(public_keys_b64)
        self.key_ids = frozenset(public_keys_b64)

    def knows(self, key_id: str) -> bool:
        """Whether ``key_id`` is one of the trusted keys."""
        return key_id in self.key_ids

    def signed(self, key_id: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``key_id``'s signature of ``data``."""
        return self._verifier.verify(key_id, data, signature)
