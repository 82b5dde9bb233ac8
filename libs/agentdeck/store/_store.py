"""One object bundling an engine with every repository."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType

from sqlalchemy import Connection, Engine, text

from agentdeck.store._archive import ArchiveRepository
from agentdeck.store._engine import create_store_engine
from agentdeck.store._migrate import Schema, migrate
from agentdeck.store._outbox import OutboxRepository
from agentdeck.store._payloads import PayloadsRepository
from agentdeck.store._processed import ProcessedEventsRepository
from agentdeck.store._subject_keys import SubjectKeysRepository
from agentdeck.store._tx import transaction

__all__ = ["Store"]


@dataclass(frozen=True)
class Store:
    """An engine plus the repositories, for composition roots.

    Attributes:
        engine: The engine every transaction runs on; :meth:`close` disposes it.
    """

    engine: Engine
    archive: ArchiveRepository = field(default_factory=ArchiveRepository)
    processed: ProcessedEventsRepository = field(default_factory=ProcessedEventsRepository)
    payloads: PayloadsRepository = field(default_factory=PayloadsRepository)
    subject_keys: SubjectKeysRepository = field(default_factory=SubjectKeysRepository)
    outbox: OutboxRepository = field(default_factory=OutboxRepository)

    @classmethod
    def open(
        cls,
        url: str = "",
        *,
        data_dir: str = ".agentdeck",
        upgrade: bool = True,
        schemas: Iterable[Schema] = (),
    ) -> Store:
        """Create the engine (see :func:`create_store_engine`) and migrate unless told not to.

        Migrating brings the plumbing and each of ``schemas`` (a service's own
        tables) to their latest revision.
        """
        engine = create_store_engine(url, data_dir=data_dir)
        try:
            if upgrade:
                migrate(engine, *schemas)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def transaction(
        self, *, read_only: bool = False, snapshot: bool = False
    ) -> AbstractContextManager[Connection]:
        """A transaction on :attr:`engine`; see :func:`agentdeck.store.transaction`."""
        return transaction(self.engine, read_only=read_only, snapshot=snapshot)

    def ping(self) -> bool:
        """Whether the database answers (readiness probes)."""
        with self.transaction(read_only=True) as conn:
            conn.execute(text("SELECT 1"))
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
