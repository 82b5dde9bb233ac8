"""The failures a ToolCallFailed can carry, each saying what broke and what the options are."""

from __future__ import annotations

from datetime import datetime

from agentdeck.contracts import ErrorInfo
from agentdeck.controls import Switch, refusal_code, stopped_message
from agentdeck.errors import MESSAGE_LIMIT, ErrorCategory, Failure, error_info
from agentdeck.tools import ToolContract

__all__ = [
    "busy",
    "circuit_open",
    "crashed",
    "from_failure",
    "invalid_arguments",
    "invalid_output",
    "kill_switch_engaged",
    "outcome_unknown",
    "output_too_large",
    "rate_limited",
    "stopped_while_running",
    "timed_out",
]


def _info(
    tool: str, code: str, category: ErrorCategory, message: str, *remediation: str
) -> ErrorInfo:
    return ErrorInfo(
        capability=f"tool.{tool}",
        code=code,
        category=category,
        retryable=category is ErrorCategory.TRANSIENT,
        message=message[:MESSAGE_LIMIT],
        remediation=remediation,
    )


def from_failure(tool: str, failure: Failure) -> ErrorInfo:
    """The wire form of a failure the tool raised; without options of its own, re-plan."""
    return error_info(failure, remediation=(f"re-plan without {tool}",))


def invalid_arguments(tool: str, problems: str) -> ErrorInfo:
    """The arguments do not fit the tool's input model."""
    return _info(
        tool,
        "invalid_arguments",
        ErrorCategory.VALIDATION,
        f"arguments rejected by {tool}'s input model: {problems}",
        "fix the arguments to match the tool's JSON schema",
        "re-plan the step",
    )


def invalid_output(tool: str, problems: str) -> ErrorInfo:
    """The tool returned something its output model rejects."""
    return _info(
        tool,
        "invalid_output",
        ErrorCategory.VALIDATION,
        f"{tool} returned output its contract rejects: {problems}",
        "report the tool's bug to its owners",
        "re-plan without this tool",
    )


def output_too_large(tool: str, size: int, limit: int) -> ErrorInfo:
    """The output does not fit even after cutting its free text."""
    return _info(
        tool,
        "output_too_large",
        ErrorCategory.PERMANENT,
        f"{tool} returned {size} bytes; the limit is {limit}",
        "ask for less (narrower query, pagination)",
        "raise the executor's max_output_bytes",
    )


def rate_limited(tool: str, tenant: str, limit: int, retry_after_s: float) -> ErrorInfo:
    """The tenant used up the tool's calls for this minute."""
    return _info(
        tool,
        "rate_limited",
        ErrorCategory.TRANSIENT,
        f"tenant {tenant} reached {limit} calls a minute of {tool}",
        f"retry after {retry_after_s:.1f}s",
        "spread the calls out",
    )


def circuit_open(tool: str, failures: int, retry_after_s: float) -> ErrorInfo:
    """The tool's breaker is open: the call was not attempted."""
    return _info(
        tool,
        "circuit_open",
        ErrorCategory.TRANSIENT,
        f"{tool} failed {failures} times in a row; its circuit breaker is open"
        " and the call was not attempted",
        f"retry after {retry_after_s:.1f}s",
        "use another tool or escalate to a human",
    )


def busy(tool: str, limit: int) -> ErrorInfo:
    """Every concurrency slot of the tool stayed taken for the tool's whole timeout."""
    return _info(
        tool,
        "concurrency_limit",
        ErrorCategory.TRANSIENT,
        f"{tool} already has {limit} calls in flight; the call was not attempted",
        "retry later",
    )


def timed_out(tool: str, timeout_s: float, attempts: int) -> ErrorInfo:
    """A tool that only reads gave no answer in time."""
    return _info(
        tool,
        "timeout",
        ErrorCategory.TRANSIENT,
        f"{tool} gave no answer within {timeout_s:.1f}s ({attempts} attempts)",
        "retry later",
        "check the system the tool talks to",
    )


def crashed(tool: str, error: str) -> ErrorInfo:
    """A tool that only reads raised something unexpected."""
    return _info(
        tool,
        "tool_error",
        ErrorCategory.PERMANENT,
        f"{tool} raised {error}",
        "report the tool's bug to its owners",
        "re-plan without this tool",
    )


def outcome_unknown(contract: ToolContract, key: str, why: str) -> ErrorInfo:
    """A call that may have acted ended without telling whether it did."""
    options = [
        f"check the system of record for the effect of call {key} before anything else",
        "if it did not happen, retry the step as a new attempt",
    ]
    if contract.compensation:
        options.append(f"if it happened and must not stand, run {contract.compensation}")
    options.append("escalate to a human")
    return _info(
        contract.name,
        "outcome_unknown",
        ErrorCategory.PERMANENT,
        f"{contract.name} ({contract.side_effect.value}, not safely repeatable) {why};"
        " whether its effect happened is unknown and it will not be repeated blindly",
        *options,
    )


def decision_lapsed(tool: str, expired_at: datetime) -> ErrorInfo:
    """The decision expired before the call could run (an approval came too late)."""
    return _info(
        tool,
        "decision_expired",
        ErrorCategory.POLICY,
        f"{tool} was not run: its decision expired at {expired_at.isoformat()} before the call"
        " was released",
        "request the call again: a new decision (and approval) is needed",
        "escalate to a human",
    )


def kill_switch_engaged(tool: str, switch: Switch) -> ErrorInfo:
    """An engaged kill switch covers the call: it was not run, and retrying will not help.

    The code is ``run_cancelled`` when the switch is its run's (the run was cancelled).
    """
    return _info(
        tool,
        refusal_code(switch),
        ErrorCategory.POLICY,
        f"{tool} was not run: {stopped_message(switch)}",
        f"ask {switch.set_by} why the switch is engaged;"
        " once an operator releases it, request the call again",
        "escalate to a human",
    )


def stopped_while_running(contract: ToolContract, switch: Switch) -> ErrorInfo:
    """The call was stopped while it ran, because ``switch`` engaged (a cancel or a kill switch).

    A sandboxed call was killed in its sandbox: nothing it did left it. An
    in-process one stopped when it saw the signal: what it did before stands.
    """
    kept = (
        "it was killed in its sandbox, so nothing it did left it"
        if contract.sandboxed
        else "it stopped on the cancel signal; what it did before it stopped stands"
    )
    return _info(
        contract.name,
        refusal_code(switch),
        ErrorCategory.POLICY,
        f"{contract.name} was stopped while running: {stopped_message(switch)}; {kept}",
        "check what the call did before it stopped, and roll the run back if it must be undone",
        f"ask {switch.set_by} why; once released, request the call again",
    )
