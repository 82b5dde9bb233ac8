"""Text a service keeps about a run (its state, a stored output), sealed as its events are."""

from __future__ import annotations

from dataclasses import dataclass

from agentdeck.contracts import FieldCipher
from agentdeck.privacy._token import is_sealed

__all__ = ["AtRest"]


@dataclass(frozen=True)
class AtRest:
    """Seals and opens stored text under the run's subject key; no cipher, no sealing.

    The record's own id stands in for an event id (the sealed text is bound to
    it and to ``path``), so stored text cannot be moved to another record.
    """

    cipher: FieldCipher | None

    def seal(self, text: str, *, tenant: str, run_id: str, record_id: str, path: str) -> str:
        """``text`` sealed for one record of a run."""
        if self.cipher is None:
            return text
        return self.cipher.seal(
            text, tenant=tenant, run_id=run_id, subject=None, event_id=record_id, path=path
        )

    def open(self, text: str, *, record_id: str, path: str) -> str | None:
        """The clear text; None if it stays sealed (its subject was erased)."""
        if self.cipher is None:
            return text
        opened = self.cipher.open(text, event_id=record_id, path=path)
        return None if is_sealed(opened) else opened
