from agentdeck.errors import (
    MESSAGE_LIMIT,
    ErrorCategory,
    RetryableError,
    TerminalError,
    error_info,
)


def test_a_failure_goes_on_the_wire_with_every_machine_readable_fact():
    failure = RetryableError(
        "the desk is away", capability="tool.lookup_order", code="desk_down", remediation=("wait",)
    )
    info = error_info(failure, remediation=("re-plan",))
    assert (info.capability, info.code, info.category, info.retryable) == (
        "tool.lookup_order",
        "desk_down",
        ErrorCategory.TRANSIENT,
        True,
    )
    assert (info.message, info.remediation) == ("the desk is away", ("wait",))


def test_the_callers_options_stand_in_only_for_a_failure_that_names_none():
    failure = TerminalError("no", capability="tool.x", code="refused")
    assert error_info(failure, remediation=("re-plan without x",)).remediation == (
        "re-plan without x",
    )
    assert error_info(failure).remediation == ()


def test_a_long_message_is_cut_to_the_limit():
    failure = TerminalError("x" * (MESSAGE_LIMIT * 5), capability="tool.x", code="huge")
    assert error_info(failure).message == "x" * MESSAGE_LIMIT
