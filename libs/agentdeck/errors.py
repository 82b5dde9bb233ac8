"""The platform's error taxonomy.

Two families, kept apart on purpose:

* :class:`ConfigError` is a programmer or operator mistake (a bad setting, a
  schema that does not parse). It is raised at start-up and never caught by a
  consumer loop.
* :class:`Failure` subclasses are runtime outcomes. Their *type* tells the
  consumer loop what to do: :class:`RetryableError` -> retry with backoff,
  :class:`TerminalError` -> dead-letter and go on. Work that waits for a human
  is no failure: the executor parks it on its approval.

Every failure carries the machine-readable fields that failure events put on
the wire: the capability affected, the category, whether a retry can help, and
the options an operator or agent has. :func:`error_info` is that wire form.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.contracts.models import ErrorInfo

__all__ = [
    "MESSAGE_LIMIT",
    "AgentdeckError",
    "ConfigError",
    "ErrorCategory",
    "Failure",
    "RetryableError",
    "TerminalError",
    "error_info",
]

MESSAGE_LIMIT = 2000
"""Most characters of a failure's message that its wire form carries.

A message may quote whatever broke (a tool's exception, a payload); events and
dead letters stay small and machine-readable, and the code says the rest.
"""


class ErrorCategory(StrEnum):
    """Why something failed, in the words failure events use."""

    TRANSIENT = "TRANSIENT"
    PERMANENT = "PERMANENT"
    POLICY = "POLICY"
    VALIDATION = "VALIDATION"


class AgentdeckError(Exception):
    """Root of every error the platform raises on purpose."""


class ConfigError(AgentdeckError):
    """A setting, schema or wiring mistake; fix the configuration, do not retry."""


class Failure(AgentdeckError):
    """A runtime failure with the machine-readable facts a failure event carries.

    Args:
        message: What happened, for a human.
        capability: The capability that broke (``codec.decode``, ``tool.lookup_order``).
        code: A stable, machine-readable reason (``unknown_fingerprint``).
        category: Defaults to the subclass's category.
        remediation: What can be done about it, most useful first.
    """

    category: ErrorCategory = ErrorCategory.PERMANENT
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        capability: str,
        code: str,
        category: ErrorCategory | None = None,
        remediation: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.capability = capability
        self.code = code
        if category is not None:
            self.category = category
        self.remediation = remediation


class RetryableError(Failure):
    """Retrying the same input later may succeed (broker away, timeout, rate limit)."""

    category = ErrorCategory.TRANSIENT
    retryable = True


class TerminalError(Failure):
    """Retrying the same input can never succeed; the input is dead-lettered."""


def error_info(failure: Failure, *, remediation: tuple[str, ...] = ()) -> ErrorInfo:
    """The wire form of ``failure``, as failure events and dead letters carry it.

    Args:
        failure: What failed.
        remediation: The options to give when the failure names none.

    The message is cut to :data:`MESSAGE_LIMIT` characters.
    """
    # The event models import this module (for ErrorCategory), so import them late.
    from agentdeck.contracts.models import ErrorInfo  # noqa: PLC0415

    return ErrorInfo(
        capability=failure.capability,
        code=failure.code,
        category=failure.category,
        retryable=failure.retryable,
        message=failure.message[:MESSAGE_LIMIT],
        remediation=failure.remediation or remediation,
    )
