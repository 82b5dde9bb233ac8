"""Publishing again what the archive never got: the outbox and its republisher.

Every record a service's loops (and its publishers) publish is kept
(:class:`StoreOutbox`, in the store's ``outbox`` table) once the broker
acknowledged it and before the batch's state commits. The service's
:class:`Republisher` task then looks at each kept record once it is due
(``check_after`` after it was kept):

- the archive holds it: it is forgotten (the normal case, one check per record);
- the archive does not, and telemetry has since archived records kept well
  after it (it is alive and past it), or it is ``_STALE`` checks old: the
  broker lost it after acknowledging it (the embedded broker keeps its log in
  memory), so the very same record is published again and consumers that saw
  it drop the duplicate. It is checked again later, each time twice as late
  (a telemetry that is down for long gets each record a few times, not a storm);
- otherwise (telemetry is behind) it waits for the next check.

A record the archive still lacks after ``give_up_after`` is dropped and
logged, so a deployment without telemetry does not keep every record for ever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from agentdeck.contracts import Codec
from agentdeck.kafka import EventProducer, Published, Publisher
from agentdeck.runtime._clock import Clock
from agentdeck.runtime._ticking import ticking
from agentdeck.settings import ServiceSettings
from agentdeck.signing import SigningKey
from agentdeck.store import KeptRecord, Store

__all__ = ["Republisher", "StoreOutbox", "outbox_for", "publisher_for"]

log = logging.getLogger(__name__)

_BATCH = 1000
_STALE = 4
"""A record the archive lacks this many ``check_after`` after it was kept is published again
even if the archive has not moved past it (nothing was archived since: it was the last)."""
_MAX_BACKOFF = timedelta(hours=1)


class StoreOutbox:
    """Keeps a service's acknowledged records in the store (the loop's ``outbox``)."""

    def __init__(self, store: Store, owner: str, *, clock: Clock, check_after: timedelta) -> None:
        self.check_after = check_after
        self._store = store
        self._owner = owner
        self._clock = clock

    def keep(self, records: Sequence[Published]) -> None:
        """Keep ``records``, due for their archive check ``check_after`` from now."""
        if not records:
            return
        now = self._clock()
        with self._store.transaction() as conn:
            due_at = now + self.check_after
            self._store.outbox.keep(conn, self._owner, records, now=now, due_at=due_at)


def outbox_for(settings: ServiceSettings, store: Store, *, clock: Clock) -> StoreOutbox | None:
    """The outbox of the service ``settings`` describe; None when it keeps nothing."""
    after_s = settings.store.republish_unarchived_after_s
    if after_s <= 0:
        return None
    return StoreOutbox(
        store, settings.service_name, clock=clock, check_after=timedelta(seconds=after_s)
    )


def publisher_for(
    settings: ServiceSettings,
    codec: Codec,
    store: Store,
    *,
    name: str,
    clock: Clock,
    signer: SigningKey | None = None,
) -> Publisher:
    """A publisher for a service's work outside its loops (HTTP workers, model calls), keeping
    what it publishes in the service's outbox like the loops do."""
    outbox = outbox_for(settings, store, clock=clock)
    producer = EventProducer(
        settings.kafka,
        codec,
        client_id=f"{settings.service_name}-{name}",
        signer=signer,
        keep_sent=outbox is not None,
    )
    return Publisher(producer, outbox=outbox)


class Republisher:
    """Checks a service's kept records against the archive; publishes again what it lost."""

    def __init__(
        self,
        store: Store,
        owner: str,
        producer: EventProducer,
        *,
        clock: Clock,
        check_after: timedelta,
        give_up_after: timedelta,
        interval_s: float,
    ) -> None:
        self._store = store
        self._owner = owner
        self._producer = producer
        self._clock = clock
        self._after = check_after
        self._give_up = give_up_after
        self._interval_s = interval_s
        self.published_again = 0

    def run(self, stop: threading.Event) -> None:
        """Check every ``interval_s`` until ``stop`` is set (a service background task)."""
        try:
            ticking(self._drain, every_s=self._interval_s, what="outbox check")(stop)
        finally:
            self._producer.close()

    def _drain(self) -> None:
        while self.tick() >= _BATCH:
            pass

    def tick(self) -> int:
        """Check the records due now; how many were due."""
        now = self._clock()
        store, owner = self._store, self._owner
        with store.transaction(read_only=True) as conn:
            due = store.outbox.due(conn, owner, now, limit=_BATCH)
            if not due:
                return 0
            archived = store.archive.known(conn, [r.event_id for r in due])
            moved_on = store.archive.last_archived_at(conn)
        expired: list[KeptRecord] = []
        lost: list[KeptRecord] = []
        waiting: list[KeptRecord] = []
        for record in due:
            if record.event_id in archived:
                continue
            if now - record.kept_at >= self._give_up:
                expired.append(record)
            elif _passed(moved_on, record, self._after) or now - record.kept_at >= (
                self._after * _STALE
            ):
                lost.append(record)
            else:
                waiting.append(record)
        for record in lost:
            self._producer.send_raw(record.topic, record.value, record.key, list(record.headers))
        if lost:
            self._producer.flush()
        later = now + self._after
        with store.transaction() as conn:
            store.outbox.drop(conn, owner, [*archived, *(r.event_id for r in expired)])
            for times in sorted({r.sent_again for r in lost}):
                backoff = min(self._after * 2 ** (times + 1), _MAX_BACKOFF)
                again = [r.event_id for r in lost if r.sent_again == times]
                store.outbox.reschedule(conn, owner, again, due_at=now + backoff, sent_again=True)
            waited = [r.event_id for r in waiting]
            store.outbox.reschedule(conn, owner, waited, due_at=later, sent_again=False)
        if lost:
            self.published_again += len(lost)
            log.warning(
                "published again %d record(s) the archive lost: %s",
                len(lost),
                ", ".join(r.event_id for r in lost[:5]),
            )
        if expired:
            log.error(
                "%d record(s) never reached the archive within %s; no longer kept: %s",
                len(expired),
                self._give_up,
                ", ".join(r.event_id for r in expired[:5]),
            )
        return len(due)


def _passed(moved_on: datetime | None, record: KeptRecord, settle: timedelta) -> bool:
    """Whether the archive took records well after ``record`` was kept (so it lost this one)."""
    return moved_on is not None and moved_on >= record.kept_at + settle
