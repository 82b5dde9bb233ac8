"""Content-addressed payloads: stored once by SHA-256, read back only if the bytes still match."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from agentdeck.store._dialect import per_dialect, table_of
from agentdeck.store._models import PayloadRow
from agentdeck.store.errors import PayloadCorruptError, PayloadMissingError

__all__ = ["JSON_MEDIA_TYPE", "PayloadRef", "PayloadsRepository", "StoredPayload"]

JSON_MEDIA_TYPE = "application/json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TABLE = table_of(PayloadRow)
_INSERT = per_dialect(lambda insert: insert(_TABLE).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """What an event carries instead of a large payload.

    Attributes:
        digest: SHA-256 of the payload's bytes, 64 lowercase hex digits.
        size: Length of the payload in bytes.
        media_type: What the bytes are (``application/json`` for event fields).
    """

    digest: str
    size: int
    media_type: str = JSON_MEDIA_TYPE

    def __post_init__(self) -> None:
        if not _HEX64.match(self.digest):
            raise ValueError(f"not a SHA-256 hex digest: {self.digest!r}")
        if self.size < 0:
            raise ValueError(f"negative payload size {self.size}")

    @property
    def claim(self) -> str:
        """The reference as text: ``sha256:<hex>``."""
        return f"sha256:{self.digest}"

    @classmethod
    def of(cls, data: bytes, media_type: str = JSON_MEDIA_TYPE) -> PayloadRef:
        """The reference of ``data`` (hashes it; stores nothing)."""
        return cls(hashlib.sha256(data).hexdigest(), len(data), media_type)


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """A payload row as stored, unverified (for auditors, who report rather than raise)."""

    digest: str
    media_type: str
    data: bytes

    @property
    def intact(self) -> bool:
        """Whether the bytes still hash to the digest they are stored under."""
        return hashlib.sha256(self.data).hexdigest() == self.digest


class PayloadsRepository:
    """Reads and writes ``payloads``. Stateless; pass the connection."""

    def put(
        self,
        conn: Connection,
        data: bytes,
        *,
        media_type: str = JSON_MEDIA_TYPE,
        now: datetime | None = None,
    ) -> PayloadRef:
        """Store ``data`` unless a payload with its hash is stored already; its reference."""
        ref = PayloadRef.of(data, media_type)
        row = {
            "digest": ref.digest,
            "size": ref.size,
            "media_type": media_type,
            "data": data,
            "stored_at": now or datetime.now(UTC),
        }
        conn.execute(_INSERT(conn), row)
        return ref

    def get(self, conn: Connection, ref: PayloadRef) -> bytes:
        """The bytes of ``ref``, checked against its hash.

        Raises:
            PayloadMissingError: nothing is stored under the reference.
            PayloadCorruptError: the stored bytes no longer hash to the reference.
        """
        return self.get_many(conn, [ref])[ref.digest]

    def get_many(self, conn: Connection, refs: Collection[PayloadRef]) -> dict[str, bytes]:
        """The bytes of every reference, by digest, each checked (one query).

        Raises:
            PayloadMissingError: a reference has no stored payload.
            PayloadCorruptError: a payload's bytes no longer hash to its reference.
        """
        found = self.fetch(conn, {ref.digest for ref in refs})
        for ref in refs:
            stored = found.get(ref.digest)
            if stored is None:
                raise PayloadMissingError(
                    f"payload {ref.claim} is not in the payload store",
                    capability="store.payloads",
                    code="payload_missing",
                    remediation=("restore the payloads table from a backup",),
                )
            if not stored.intact:
                actual = hashlib.sha256(stored.data).hexdigest()
                raise PayloadCorruptError(
                    f"payload {ref.claim} was altered: its stored bytes hash to sha256:{actual}",
                    capability="store.payloads",
                    code="payload_corrupt",
                    remediation=("restore the payloads table from a backup",),
                )
        return {digest: stored.data for digest, stored in found.items()}

    def fetch(self, conn: Connection, digests: Collection[str]) -> dict[str, StoredPayload]:
        """The stored rows of ``digests`` that exist, unverified (one query)."""
        if not digests:
            return {}
        stmt = select(PayloadRow.digest, PayloadRow.media_type, PayloadRow.data).where(
            PayloadRow.digest.in_(list(digests))
        )
        return {
            row.digest: StoredPayload(row.digest, row.media_type, bytes(row.data))
            for row in conn.execute(stmt)
        }
