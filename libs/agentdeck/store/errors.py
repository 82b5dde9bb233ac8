"""Errors raised by :mod:`agentdeck.store`.

Every error derives from :class:`StoreError`. Runtime failures also derive from
the platform taxonomy in :mod:`agentdeck.errors`, so a consumer loop can act on
them without knowing about the store: :class:`StoreUnavailableError` is a
:class:`~agentdeck.errors.RetryableError` (retry the batch with backoff),
:class:`StoreIntegrityError` and :class:`IdempotencyKeyReusedError` are
:class:`~agentdeck.errors.TerminalError` (dead-letter the input).
:class:`StoreSchemaError` is a :class:`~agentdeck.errors.ConfigError`: the
database was not migrated, which no retry can fix; so is :class:`StoreConfigError`.
"""

from __future__ import annotations

from agentdeck.errors import AgentdeckError, ConfigError, RetryableError, TerminalError

__all__ = [
    "IdempotencyKeyReusedError",
    "PayloadCorruptError",
    "PayloadMissingError",
    "StoreConfigError",
    "StoreError",
    "StoreIntegrityError",
    "StoreSchemaError",
    "StoreUnavailableError",
]


class StoreError(AgentdeckError):
    """Root of every error raised by the store."""


class StoreUnavailableError(StoreError, RetryableError):
    """The database could not be reached, was busy, or dropped the connection.

    The transaction was rolled back; running the same work again later may succeed.
    """


class StoreIntegrityError(StoreError, TerminalError):
    """A constraint rejected the write (a foreign key, a check, the append-only archive)."""


class IdempotencyKeyReusedError(StoreError, TerminalError):
    """An idempotency key was presented again with different arguments."""


class PayloadMissingError(StoreError, TerminalError):
    """A claim-check reference names a payload the store does not hold."""


class PayloadCorruptError(StoreError, TerminalError):
    """A stored payload's bytes no longer hash to the reference it is stored under."""


class StoreSchemaError(StoreError, ConfigError):
    """The database schema is missing or older than the code; run ``migrate`` first."""


class StoreConfigError(StoreError, ConfigError):
    """The database URL names a backend or a location the store does not support."""
