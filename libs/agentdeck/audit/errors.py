"""Errors of the audit package."""

from __future__ import annotations

from agentdeck.errors import AgentdeckError

__all__ = ["AuditError", "BundleUnreadable", "VerificationFailed"]


class AuditError(AgentdeckError):
    """Root of the audit package's errors."""


class VerificationFailed(AuditError):
    """The archive, log, checkpoints or a bundle failed verification (details were reported)."""


class BundleUnreadable(AuditError):
    """A file is not a proof bundle: truncated, damaged or of another format."""
