from agentdeck.errors import MESSAGE_LIMIT, TerminalError
from agentdeck.tool_executor.core import failures


def test_a_tools_own_failure_keeps_its_code_and_gets_a_bounded_message():
    # A tool may raise with a whole payload in its message; the event carries a bounded one.
    raised = TerminalError("y" * (MESSAGE_LIMIT + 1), capability="tool.refund", code="refused")
    info = failures.from_failure("refund", raised)
    assert (info.code, info.message) == ("refused", "y" * MESSAGE_LIMIT)
    assert info.remediation == ("re-plan without refund",)


def test_a_crash_quoting_a_long_exception_is_bounded_too():
    info = failures.crashed("refund", "ValueError: " + "z" * (MESSAGE_LIMIT * 2))
    assert len(info.message) == MESSAGE_LIMIT
