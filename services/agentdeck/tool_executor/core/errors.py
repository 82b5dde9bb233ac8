"""Why the executor refuses a decision or an approval: dead-lettered, never executed."""

from __future__ import annotations

from agentdeck.errors import ErrorCategory, TerminalError

__all__ = ["ApprovalRefused", "DecisionRefused"]


class DecisionRefused(TerminalError):
    """A decision the executor will not act on (forged, expired, replayed, mismatched...).

    ``code`` says which check failed: ``unknown_key``, ``bad_signature``,
    ``incomplete_decision``, ``arguments_mismatch``, ``decision_expired``,
    ``unknown_tool``, ``tool_version_incompatible``, ``approval_mismatch``,
    ``decision_replayed``.
    """

    def __init__(self, code: str, message: str, *remediation: str) -> None:
        super().__init__(
            message,
            capability="tool-executor.verify_decision",
            code=code,
            category=ErrorCategory.POLICY,
            remediation=remediation or ("ask the policy-checker for a fresh decision",),
        )


class ApprovalRefused(TerminalError):
    """An approval outcome the executor will not act on (forged, mismatched, reused).

    ``code``: ``unknown_key``, ``bad_signature``, ``payload_mismatch``,
    ``approval_replayed``, ``approval_closed``.
    """

    def __init__(self, code: str, message: str, *remediation: str) -> None:
        super().__init__(
            message,
            capability="tool-executor.verify_approval",
            code=code,
            category=ErrorCategory.POLICY,
            remediation=remediation or ("have an approver decide again in the approval service",),
        )
