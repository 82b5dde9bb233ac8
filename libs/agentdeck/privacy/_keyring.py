"""Per-subject data keys: made on first use, wrapped by the master key, destroyed on erasure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from agentdeck.errors import ConfigError
from agentdeck.store import Store, SubjectKey

__all__ = ["KeyRing", "MasterKey", "run_subject"]

_RUNS_REMEMBERED = 100_000


def run_subject(run_id: str) -> str:
    """The subject of a run whose goal named none: the run itself."""
    return f"run:{run_id}"


@dataclass(frozen=True)
class MasterKey:
    """The platform's key-encryption key, and the key that derives subject key ids.

    Both are derived (HKDF-SHA256) from one 32-byte secret,
    ``AGENTDECK_PII_MASTER_KEY``. Subject key ids are keyed hashes, so the key
    store never names a subject and nobody without the secret can tell which
    subject a sealed value belongs to.
    """

    kek: bytes
    kid_key: bytes

    @classmethod
    def from_b64(cls, secret: str) -> MasterKey:
        """The master key from its base64 form.

        Raises:
            ConfigError: ``secret`` is not base64 of 32 bytes.
        """
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                "AGENTDECK_PII_MASTER_KEY is not base64 of 32 bytes; make one with "
                "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
            )
        kek, kid_key = _derive(raw, b"agentdeck/pii/kek"), _derive(raw, b"agentdeck/pii/kid")
        return cls(kek=kek, kid_key=kid_key)

    def kid(self, tenant: str, subject: str) -> str:
        """The key id of ``subject`` in ``tenant`` (32 hex digits)."""
        message = tenant.encode() + b"\x00" + subject.encode()
        return hmac.new(self.kid_key, message, hashlib.sha256).hexdigest()[:32]


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class KeyRing:
    """Subject keys from the store, cached in memory for ``cache_s`` seconds.

    The cache is why erasure takes effect everywhere within ``cache_s``: a
    process that held a key drops it at the latest when its entry expires.

    Args:
        store: Where wrapped keys and run bindings live.
        master: Wraps and unwraps the data keys; derives key ids.
        cache_s: How long a key (or the fact that it was erased) is remembered.
        clock: Monotonic seconds (tests move it).
    """

    def __init__(
        self,
        store: Store,
        master: MasterKey,
        *,
        cache_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._master = master
        self._cache_s = cache_s
        self._clock = clock
        self._keys: dict[str, tuple[AESSIV | None, float]] = {}
        self._runs: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def kid(self, tenant: str, subject: str) -> str:
        """The key id of ``subject`` in ``tenant``."""
        return self._master.kid(tenant, subject)

    def key(self, kid: str, *, create_for: str | None = None) -> AESSIV | None:
        """The data key of ``kid``; None if it was erased (or is unknown and not to be made).

        Args:
            kid: The key id.
            create_for: The tenant to make the key for if it does not exist yet.
        """
        cached = self._keys.get(kid)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        # Read first, write only to make a missing key: a caller may hold a write
        # transaction of its own, and SQLite admits one writer at a time.
        with self._store.transaction(read_only=True) as conn:
            row = self._store.subject_keys.get(conn, kid)
        if row is None and create_for is not None:
            wrapped = aes_key_wrap(self._master.kek, AESSIV.generate_key(512))
            with self._lock, self._store.transaction() as conn:
                row = self._store.subject_keys.create(
                    conn, kid=kid, tenant=create_for, wrapped_key=wrapped, now=datetime.now(UTC)
                )
        key = None if row is None or row.wrapped_key is None else self._unwrap(row.wrapped_key)
        if row is not None:  # an unknown kid is not remembered: it may be made any moment
            self._keys[kid] = (key, self._clock() + self._cache_s)
        return key

    def prefetch(self, kids: Collection[str]) -> None:
        """Read the keys of ``kids`` not cached yet, in one read (unknown kids are not kept)."""
        now = self._clock()
        missing = [k for k in kids if (c := self._keys.get(k)) is None or c[1] <= now]
        if not missing:
            return
        with self._store.transaction(read_only=True) as conn:
            rows = self._store.subject_keys.get_many(conn, missing)
        self._cache(rows)

    def prefetch_runs(self, runs: Collection[tuple[str, str]]) -> None:
        """:meth:`run_kid` and :meth:`key` of each ``(run id, tenant)``: one read for all."""
        now = self._clock()
        unknown = {run: tenant for run, tenant in runs if run not in self._runs}
        with self._store.transaction(read_only=True) as conn:
            bound = self._store.subject_keys.kids_of_runs(conn, list(unknown)) if unknown else {}
            kids = {bound.get(r) or self.kid(t, run_subject(r)) for r, t in unknown.items()}
            kids |= {self._runs[r] for r, _t in runs if r in self._runs}
            stale = [k for k in kids if (c := self._keys.get(k)) is None or c[1] <= now]
            rows = self._store.subject_keys.get_many(conn, stale) if stale else {}
        for run, tenant in unknown.items():
            self._remember(run, bound.get(run) or self.kid(tenant, run_subject(run)))
        self._cache(rows)

    def run_kid(self, run_id: str, tenant: str) -> str:
        """The key id a run's data is sealed under: its bound subject's, else the run's own."""
        kid = self._runs.get(run_id)
        if kid is not None:
            return kid
        with self._store.transaction(read_only=True) as conn:
            kid = self._store.subject_keys.kid_of_run(conn, run_id)
        kid = kid or self.kid(tenant, run_subject(run_id))
        self._remember(run_id, kid)
        return kid

    def bind(self, run_id: str, tenant: str, subject: str | None) -> str:
        """Bind a run to its subject's key (made if needed); the key id the run is bound to.

        The first binding of a run holds, so a second goal record that claims the
        same run cannot move its data under another subject's key.
        """
        return self.bind_many([(run_id, tenant, subject)])[run_id]

    def bind_many(self, runs: Sequence[tuple[str, str, str | None]]) -> dict[str, str]:
        """:meth:`bind` each ``(run id, tenant, subject)`` in one read and one write transaction.

        The keys the subjects lack are made and the runs bound together, before
        anything sealed under them is published; run id -> the key id it is bound to.
        """
        wanted = {
            run: (tenant, self.kid(tenant, subject or run_subject(run)))
            for run, tenant, subject in runs
        }
        if not wanted:
            return {}
        kids = {kid: tenant for tenant, kid in wanted.values()}
        with self._store.transaction(read_only=True) as conn:
            have = self._store.subject_keys.get_many(conn, list(kids))
        missing = [
            (kid, tenant, aes_key_wrap(self._master.kek, AESSIV.generate_key(512)))
            for kid, tenant in kids.items()
            if kid not in have
        ]
        now = datetime.now(UTC)
        with self._lock, self._store.transaction() as conn:
            self._store.subject_keys.create_many(conn, missing, now=now)
            # The rows that hold (another process may have made one of them first).
            have |= self._store.subject_keys.get_many(conn, [kid for kid, _t, _w in missing])
            bound = self._store.subject_keys.bind_runs(
                conn, {run: kid for run, (_t, kid) in wanted.items()}, now=now
            )
        self._cache(have)
        for run, kid in bound.items():
            self._remember(run, kid)
        return bound

    def erase(self, kid: str, *, reason: str) -> bool:
        """Destroy the key of ``kid``; whether a live key was destroyed (a tombstone stays)."""
        with self._lock, self._store.transaction() as conn:
            destroyed = self._store.subject_keys.erase(
                conn, kid, reason=reason, now=datetime.now(UTC)
            )
        self._keys[kid] = (None, self._clock() + self._cache_s)
        return destroyed

    def forget(self) -> None:
        """Drop every cached key (the next use reads the store)."""
        self._keys.clear()

    def _cache(self, rows: Mapping[str, SubjectKey]) -> None:
        """Remember the keys of ``rows`` (an erased one as None) for ``cache_s``."""
        expires = self._clock() + self._cache_s
        for kid, row in rows.items():
            key = None if row.wrapped_key is None else self._unwrap(row.wrapped_key)
            self._keys[kid] = (key, expires)

    def _remember(self, run_id: str, kid: str) -> None:
        self._runs[run_id] = kid
        if len(self._runs) > _RUNS_REMEMBERED:
            self._runs.popitem(last=False)

    def _unwrap(self, wrapped: bytes) -> AESSIV | None:
        try:
            return AESSIV(aes_key_unwrap(self._master.kek, wrapped))
        except InvalidUnwrap:
            return None  # wrapped under another master key: unreadable here
