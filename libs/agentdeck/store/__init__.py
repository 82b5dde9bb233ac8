"""The store's plumbing: engine, transactions, processed ids, archive, payloads, subject keys,
outbox.

SQLAlchemy 2 (synchronous, Core statements over typed declarative tables) on
PostgreSQL in production and a SQLite file (WAL) as the embedded default.

**Connection style.** Repositories are stateless; every method takes the
:class:`~sqlalchemy.Connection` of a transaction the caller opened. A consumer
therefore records the events it processed in the same transaction as the state
they changed::

    engine = create_store_engine(settings.store.database_url, data_dir=settings.store.data_dir)
    migrate(engine)
    archive, processed = ArchiveRepository(), ProcessedEventsRepository()
    with transaction(engine) as conn:
        new = processed.filter_new(conn, "telemetry", [r.event_id for r in batch])
        archive.append_many(conn, [r for r in batch if r.event_id in new])
        processed.mark(conn, "telemetry", new)

:class:`Store` bundles an engine with one instance of each repository.
:class:`PayloadsRepository` is the content-addressed payload store behind
claim checks (see :mod:`agentdeck.claimcheck`): ``put`` returns a
:class:`PayloadRef` (SHA-256, size, media type) and stores identical bytes
once; ``get`` raises :class:`PayloadCorruptError` if the bytes no longer hash
to the reference.

**Errors.** :func:`transaction` (and :func:`translate_errors` for connections
opened elsewhere) turn driver errors into :mod:`agentdeck.store.errors`:
:class:`StoreUnavailableError` is retryable, :class:`StoreIntegrityError` is
terminal, :class:`StoreSchemaError` means ``migrate`` was not run.

**Concurrency.** Every state change that can race (a reservation, a decision, the
start of a side effect) is a single conditional statement, correct under
PostgreSQL's default READ COMMITTED and under SQLite, whose write transactions
take the database write lock when they begin.

**Values.** Timestamps must be timezone-aware and come back in UTC; money is
:class:`~decimal.Decimal`, exact to nine decimal places on both backends.
"""

from agentdeck.store._archive import (
    ArchivedEvent,
    ArchiveRecord,
    ArchiveRepository,
    AuditBytes,
    AuditRecord,
    StoredBytes,
)
from agentdeck.store._engine import create_store_engine
from agentdeck.store._migrate import current_revision, head_revision, migrate
from agentdeck.store._models import Base
from agentdeck.store._outbox import KeptRecord, OutboxRepository
from agentdeck.store._payloads import (
    JSON_MEDIA_TYPE,
    PayloadRef,
    PayloadsRepository,
    StoredPayload,
)
from agentdeck.store._processed import ProcessedEventsRepository
from agentdeck.store._processed_log import SqlProcessedLog
from agentdeck.store._store import Store
from agentdeck.store._stored import audit_bytes, canonical, stored_instant
from agentdeck.store._subject_keys import SubjectKey, SubjectKeysRepository
from agentdeck.store._tx import transaction, translate_errors
from agentdeck.store._types import MONEY_SCALE, Headers
from agentdeck.store.errors import (
    IdempotencyKeyReusedError,
    PayloadCorruptError,
    PayloadMissingError,
    StoreConfigError,
    StoreError,
    StoreIntegrityError,
    StoreSchemaError,
    StoreUnavailableError,
)

__all__ = [
    "JSON_MEDIA_TYPE",
    "MONEY_SCALE",
    "ArchiveRecord",
    "ArchiveRepository",
    "ArchivedEvent",
    "AuditBytes",
    "AuditRecord",
    "Base",
    "Headers",
    "IdempotencyKeyReusedError",
    "KeptRecord",
    "OutboxRepository",
    "PayloadCorruptError",
    "PayloadMissingError",
    "PayloadRef",
    "PayloadsRepository",
    "ProcessedEventsRepository",
    "SqlProcessedLog",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreIntegrityError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "StoredBytes",
    "StoredPayload",
    "SubjectKey",
    "SubjectKeysRepository",
    "audit_bytes",
    "canonical",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "migrate",
    "stored_instant",
    "transaction",
    "translate_errors",
]
