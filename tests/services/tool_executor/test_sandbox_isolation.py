"""The sandbox says what isolation is in force, and refuses to run where there is none."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest

from agentdeck.demo.tools import demo_registry
from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.tool_executor.adapters._landlock import abi_version
from agentdeck.tool_executor.adapters.isolation import Isolation
from agentdeck.tool_executor.adapters.sandbox import (
    SandboxLimits,
    SubprocessSandbox,
    isolation_report,
)
from agentdeck.tool_executor.main import announce_isolation
from agentdeck.tools import ToolContext

CTX = ToolContext("run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC))


def test_a_sandbox_without_isolation_refuses_every_call_with_a_remedy():
    missing = Isolation(available=False, reason="Landlock is not available in this kernel")
    sandbox = SubprocessSandbox(SandboxLimits(), isolation=missing)
    tool = demo_registry().get("run_python")
    with pytest.raises(TerminalError) as caught:
        sandbox.run(tool, tool.contract.input_model(code="print(1)"), CTX, timeout_s=10)
    refusal = caught.value
    assert (refusal.code, refusal.category) == ("sandbox_unavailable", ErrorCategory.POLICY)
    assert "Landlock is not available" in refusal.message
    assert any("Landlock" in remedy for remedy in refusal.remediation)


def test_the_probe_finds_every_layer_this_kernel_offers():
    isolation = SubprocessSandbox(SandboxLimits()).isolation
    abi = abi_version()
    assert isolation.available, isolation.reason
    assert isolation.landlock_abi == abi
    assert isolation.landlock_tcp is (abi >= 4)
    assert isolation.landlock_scopes == (("abstract-unix-socket", "signal") if abi >= 6 else ())
    assert isolation.seccomp == "kill-on-violation"


def test_the_isolation_report_names_the_layers_in_force():
    report = isolation_report()
    assert f"Landlock ABI {abi_version()}" in report
    assert "seccomp-bpf" in report
    assert "no capabilities" in report


def test_an_unavailable_sandbox_is_reported_as_such():
    line = Isolation(available=False, reason="no seccomp filter for this architecture").describe()
    assert line.startswith("sandbox UNAVAILABLE")
    assert "no seccomp filter for this architecture" in line


def test_the_executor_says_at_start_which_isolation_its_sandboxed_tools_get(
    caplog: pytest.LogCaptureFixture,
):
    stopped = threading.Event()
    stopped.set()
    announce = announce_isolation(SubprocessSandbox(SandboxLimits()), demo_registry())
    with caplog.at_level(logging.INFO, logger="agentdeck.tool_executor.main"):
        announce(stopped)
    [line] = [r for r in caplog.records if "run_python" in r.getMessage()]
    assert line.levelno == logging.INFO
    assert f"Landlock ABI {abi_version()}" in line.getMessage()


def test_an_executor_without_isolation_says_so_as_an_error_at_start(
    caplog: pytest.LogCaptureFixture,
):
    stopped = threading.Event()
    stopped.set()
    missing = Isolation(available=False, reason="Landlock is not available in this kernel")
    sandbox = SubprocessSandbox(SandboxLimits(), isolation=missing)
    with caplog.at_level(logging.INFO, logger="agentdeck.tool_executor.main"):
        announce_isolation(sandbox, demo_registry())(stopped)
    [line] = [r for r in caplog.records if "run_python" in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert "UNAVAILABLE" in line.getMessage()
