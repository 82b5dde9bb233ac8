"""Errors of the event contract: bad schemas (config) and undecodable messages (runtime)."""

from __future__ import annotations

from agentdeck.errors import ConfigError, ErrorCategory, TerminalError

__all__ = ["DecodeError", "SchemaError"]


class SchemaError(ConfigError):
    """A schema file is missing, malformed, or inconsistent with its file name."""


class DecodeError(TerminalError):
    """A message cannot be turned into an event; it belongs in the dead-letter topic.

    ``code`` is one of: ``oversized``, ``truncated``, ``bad_marker``,
    ``unknown_fingerprint``, ``corrupt_body``, ``trailing_bytes``,
    ``invalid_payload``, ``envelope_mismatch``.
    """

    def __init__(self, code: str, message: str, *, remediation: tuple[str, ...] = ()) -> None:
        super().__init__(
            message,
            capability="codec.decode",
            code=code,
            category=ErrorCategory.VALIDATION,
            remediation=remediation
            or ("inspect original_value in the dead-letter topic", "fix the producer and resend"),
        )
