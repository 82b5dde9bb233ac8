"""Typed table definitions.

The Alembic revisions under ``migrations/versions`` create these tables; a test
checks that the two never drift apart. Repositories use the mapped classes as
Core tables (``insert(RunRow)``, ``select(RunRow.status)``): no ORM sessions or
identity map on the hot path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agentdeck.store._types import Headers, KafkaHeaders, UtcDateTime

__all__ = [
    "ArchiveRow",
    "Base",
    "OutboxRow",
    "PayloadRow",
    "ProcessedEventRow",
    "RunSubjectRow",
    "ServiceStateRow",
    "SubjectKeyRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY (its rowid alias).
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
_ID = String(64)
_NAME = String(200)
_HASH = String(128)


class Base(DeclarativeBase):
    """Declarative base holding the store's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ArchiveRow(Base):
    """One archived event; the table is append-only (enforced by triggers)."""

    __tablename__ = "event_archive"
    __table_args__ = (
        Index("ix_event_archive_run_id_seq", "run_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(_ID, unique=True)
    event_type: Mapped[str] = mapped_column(_NAME)
    schema_fingerprint: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(_ID)
    tenant: Mapped[str] = mapped_column(_NAME)
    topic: Mapped[str] = mapped_column(String(249))
    kafka_partition: Mapped[int] = mapped_column(Integer)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[Headers] = mapped_column(KafkaHeaders())


class ProcessedEventRow(Base):
    """An event a consumer has already handled."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(_NAME, primary_key=True)
    event_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ServiceStateRow(Base):
    """The keyed state services shared before each kept tables of its own (legacy).

    Nothing writes it any more: each service's migration that introduced its own
    tables moved that service's rows out. It stays until a later release drops it.
    """

    __tablename__ = "service_state"

    service: Mapped[str] = mapped_column(_NAME, primary_key=True)
    key: Mapped[str] = mapped_column(_NAME, primary_key=True)
    version: Mapped[int] = mapped_column(Integer())
    state: Mapped[str] = mapped_column(Text())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRow(Base):
    """A record a service published and the archive does not hold yet (see ``OutboxRepository``).

    Kept as acknowledged (value, key and headers byte for byte), so publishing
    it again yields an exact duplicate that every consumer drops.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_owner_due_at", "owner", "due_at"),)

    owner: Mapped[str] = mapped_column(_NAME, primary_key=True)
    event_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    topic: Mapped[str] = mapped_column(_NAME)
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[Headers] = mapped_column(KafkaHeaders())
    kept_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    """When the archive is next checked for it (and it is published again if absent)."""
    sent_again: Mapped[int] = mapped_column(Integer(), default=0)


class PayloadRow(Base):
    """A payload stored once by content hash (claim check); events carry its reference.

    ``digest`` is the SHA-256 of ``data`` (hex); a row is written once and never
    changed, so a reader checks the bytes against the key it asked for.
    """

    __tablename__ = "payloads"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(_NAME)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubjectKeyRow(Base):
    """A data subject's data key, wrapped by the platform's master key (crypto-shredding).

    ``kid`` is a keyed hash of (tenant, subject), so the table never names the
    subject. Erasure sets ``wrapped_key`` to NULL and records when and why: the
    row stays as a tombstone so the key can never be created again.
    """

    __tablename__ = "subject_keys"
    __table_args__ = (Index("ix_subject_keys_tenant_last_bound_at", "tenant", "last_bound_at"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(_NAME)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_bound_at: Mapped[datetime] = mapped_column(UtcDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    erased_reason: Mapped[str | None] = mapped_column(Text)


class RunSubjectRow(Base):
    """Which subject key a run's personal data is sealed under (bound at admission)."""

    __tablename__ = "run_subjects"

    run_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime())
