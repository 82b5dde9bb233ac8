"""Checking payloads in before an event is published, and following references after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection

from agentdeck.claimcheck._events import CLAIMABLE, references, resolve_event
from agentdeck.claimcheck._reference import REFERENCE_PREFIX, reference_json
from agentdeck.contracts import Event
from agentdeck.store import JSON_MEDIA_TYPE, PayloadRef, PayloadsRepository

__all__ = ["DEFAULT_ABOVE_BYTES", "ClaimCheck"]

DEFAULT_ABOVE_BYTES = 16 * 1024
"""Payloads longer than this many bytes are claim-checked by default."""

E = TypeVar("E", bound=Event)
_MAX_UTF8_BYTES_PER_CHAR = 4


class ClaimCheck:
    """Stores large payloads by hash and puts references in their place; follows them back.

    Args:
        payloads: The store's payload repository.
        above_bytes: Payloads longer than this (UTF-8 bytes) are stored by reference.
    """

    def __init__(self, payloads: PayloadsRepository, *, above_bytes: int = DEFAULT_ABOVE_BYTES):
        if above_bytes < 0:
            raise ValueError("above_bytes must not be negative")
        self._payloads = payloads
        self.above_bytes = above_bytes

    def needed(self, text: str) -> bool:
        """Whether ``text`` goes by reference; a ``len()`` check for small payloads."""
        if len(text) * _MAX_UTF8_BYTES_PER_CHAR > self.above_bytes and (
            len(text) > self.above_bytes or len(text.encode()) > self.above_bytes
        ):
            return True
        # An inline payload must never read as a reference.
        return text.startswith(REFERENCE_PREFIX)

    def check_in(self, conn: Connection, text: str, *, now: datetime | None = None) -> str:
        """``text`` itself if small, else its reference, after storing it on ``conn``."""
        if not self.needed(text):
            return text
        return reference_json(self._payloads.put(conn, text.encode(), now=now))

    def plan(self, text: str) -> tuple[str, bytes | None]:
        """What :meth:`check_in` would return for ``text``, and the bytes it would store (if any).

        Pure, so a caller can build its events first and store the payload later
        in the transaction that records them (:meth:`store`).
        """
        if not self.needed(text):
            return text, None
        data = text.encode()
        return reference_json(PayloadRef.of(data, JSON_MEDIA_TYPE)), data

    def store(self, conn: Connection, data: bytes, *, now: datetime | None = None) -> str:
        """Store ``data`` (planned by :meth:`plan`); its reference."""
        return reference_json(self._payloads.put(conn, data, now=now))

    def check_in_event(self, conn: Connection, event: E, *, now: datetime | None = None) -> E:
        """``event`` with its large claimable fields stored and replaced by references."""
        update = {
            name: self.check_in(conn, value, now=now)
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
        payloads = self._payloads.get_many(conn, refs)
        return [resolve_event(event, payloads) for event in events]
