"""Claim-checked payloads under audit: each referenced payload must exist and match its hash.

An event's reference (``sha256:<hex>``) is part of the event's bytes, so the
Merkle log proves the digest; a payload is proven when its bytes hash to it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from agentdeck.claimcheck import REFERENCE_PREFIX, encoded_references
from agentdeck.contracts import Codec
from agentdeck.store import ArchivedEvent, AuditRecord, StoredPayload

__all__ = ["BundlePayload", "ReferenceCollector", "payload_failures"]

_Archived = TypeVar("_Archived", ArchivedEvent, AuditRecord)


class BundlePayload(BaseModel):
    """A payload some bundled event references, as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim: str
    """The reference it is stored under: ``sha256:<hex>``."""
    media_type: str
    data_b64: str

    @classmethod
    def of(cls, stored: StoredPayload) -> BundlePayload:
        """The bundle entry of a stored payload (copied as is, unverified)."""
        return cls(
            claim=f"sha256:{stored.digest}",
            media_type=stored.media_type,
            data_b64=base64.b64encode(stored.data).decode(),
        )

    def data(self) -> bytes:
        """The payload's bytes."""
        return base64.b64decode(self.data_b64)


class ReferenceCollector:
    """Notes the payload references of events streaming past (decoding only likely holders).

    Attributes:
        codec: Decodes the events that may hold a reference.
        referenced: Digest -> the first event that references it.
        marker: Bytes every encoded event holding a reference contains; one without
            them holds none (so a reader may skip :meth:`add` for it).
    """

    marker = REFERENCE_PREFIX.encode()

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.referenced: dict[str, str] = {}

    def add(self, event_id: str, payload: bytes) -> None:
        """Note the references of one encoded event."""
        for ref in encoded_references(payload, self.codec):
            self.referenced.setdefault(ref.digest, event_id)

    def watch(self, events: Iterable[_Archived]) -> Iterator[_Archived]:
        """Yield ``events`` unchanged, noting their references on the way."""
        for event in events:
            self.add(event.event_id, event.payload)
            yield event


def payload_failures(
    referenced: Mapping[str, str], available: Mapping[str, bytes], where: str
) -> list[str]:
    """One sentence per referenced payload that is missing or no longer matches its hash.

    Args:
        referenced: Digest -> an event that references it.
        available: Digest -> the bytes stored under it (unverified).
        where: Where the payloads were looked for ("payload store", "bundle").
    """
    failures = []
    for digest, event_id in referenced.items():
        data = available.get(digest)
        if data is None:
            failures.append(
                f"payload sha256:{digest} referenced by event {event_id} is missing "
                f"from the {where}"
            )
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            failures.append(
                f"payload sha256:{digest} referenced by event {event_id} was altered: "
                f"its bytes hash to sha256:{actual}"
            )
    return failures
