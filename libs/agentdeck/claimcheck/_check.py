"""Checking payloads in before an event is published, and following references after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from agentdeck.claimcheck._events import CLAIMABLE, references, resolve_event
from agentdeck.claimcheck._reference import REFERENCE_PREFIX, reference_json
from agentdeck.contracts import Event
from agentdeck.store import JSON_MEDIA_TYPE, PayloadRef, PayloadsRepository

__all__ = ["DEFAULT_ABOVE_BYTES", "ClaimCheck", "Owner", "PayloadCipher"]

DEFAULT_ABOVE_BYTES = 16 * 1024
"""Payloads longer than this many bytes are claim-checked by default."""

E = TypeVar("E", bound=Event)
Owner = tuple[str, str]
"""(tenant, run id): whose subject key seals a payload."""


class PayloadCipher(Protocol):
    """Seals stored payloads and opens them; implemented by :class:`agentdeck.privacy.Sealer`."""

    def seal_payload(self, data: bytes, *, tenant: str, run_id: str) -> bytes:
        """``data`` sealed under the run's subject key."""
        ...

    def open_payload(self, data: bytes) -> bytes | str:
        """The clear bytes, or the erased token if the key is gone."""
        ...


_MAX_UTF8_BYTES_PER_CHAR = 4


class ClaimCheck:
    """Stores large payloads by hash and puts references in their place; follows them back.

    Args:
        payloads: The store's payload repository.
        above_bytes: Payloads longer than this (UTF-8 bytes) are stored by reference.
        cipher: Seals what is stored under its owner's subject key (personal data
            never rests in the clear) and opens it when references are followed.
    """

    def __init__(
        self,
        payloads: PayloadsRepository,
        *,
        above_bytes: int = DEFAULT_ABOVE_BYTES,
        cipher: PayloadCipher | None = None,
    ):
        if above_bytes < 0:
            raise ValueError("above_bytes must not be negative")
        self._payloads = payloads
        self.above_bytes = above_bytes
        self._cipher = cipher

    def needed(self, text: str) -> bool:
        """Whether ``text`` goes by reference; a ``len()`` check for small payloads."""
        if len(text) * _MAX_UTF8_BYTES_PER_CHAR > self.above_bytes and (
            len(text) > self.above_bytes or len(text.encode()) > self.above_bytes
        ):
            return True
        # An inline payload must never read as a reference.
        return text.startswith(REFERENCE_PREFIX)

    def check_in(
        self,
        conn: Connection,
        text: str,
        *,
        now: datetime | None = None,
        owner: Owner | None = None,
    ) -> str:
        """``text`` itself if small, else its reference, after storing it on ``conn``."""
        if not self.needed(text):
            return text
        return reference_json(self._payloads.put(conn, self._sealed(text, owner), now=now))

    def plan(self, text: str, owner: Owner | None = None) -> tuple[str, bytes | None]:
        """What :meth:`check_in` would return for ``text``, and the bytes it would store (if any).

        Pure but for sealing, so a caller can build its events first and store the
        payload later in the transaction that records them (:meth:`store`).
        """
        if not self.needed(text):
            return text, None
        data = self._sealed(text, owner)
        return reference_json(PayloadRef.of(data, JSON_MEDIA_TYPE)), data

    def _sealed(self, text: str, owner: Owner | None) -> bytes:
        if self._cipher is None or owner is None:
            return text.encode()
        tenant, run_id = owner
        return self._cipher.seal_payload(text.encode(), tenant=tenant, run_id=run_id)

    def store(self, conn: Connection, data: bytes, *, now: datetime | None = None) -> str:
        """Store ``data`` (planned by :meth:`plan`); its reference."""
        return reference_json(self._payloads.put(conn, data, now=now))

    def check_in_event(self, conn: Connection, event: E, *, now: datetime | None = None) -> E:
        """``event`` with its large claimable fields stored and replaced by references."""
        env = event.envelope
        owner = (env.tenant, env.run_id or env.event_id)
        update = {
            name: self.check_in(conn, value, now=now, owner=owner)
            for name in CLAIMABLE.get(type(event), ())
            if self.needed(value := getattr(event, name))
        }
        return event.model_copy(update=update) if update else event

    def resolve(self, conn: Connection, events: Sequence[E]) -> list[E]:
        """``events`` with every reference replaced by its payload, checked against its hash.

        Raises:
            PayloadMissingError: a referenced payload is not stored.
            PayloadCorruptError: a referenced payload was altered.
        """
        refs = [ref for event in events for ref in references(event)]
        if not refs:
            return list(events)
        stored = self._payloads.get_many(conn, refs)
        cipher = self._cipher
        payloads: dict[str, bytes | str] = (
            {digest: cipher.open_payload(data) for digest, data in stored.items()}
            if cipher is not None
            else dict(stored)
        )
        return [resolve_event(event, payloads) for event in events]
