"""run_python in the sandbox: limits hold, the network is unreachable, files stay in the box.

Hostile code, as root and as a non-root user, is in ``test_sandbox_hostile.py``.
"""

import json
import socket
import tempfile
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentdeck.demo.tools import demo_registry
from agentdeck.errors import ConfigError, TerminalError
from agentdeck.tool_executor.adapters.sandbox import (
    SandboxCancelled,
    SandboxLimits,
    SandboxTimeout,
    SubprocessSandbox,
    importable,
)
from agentdeck.tools import Tool, ToolContext

CTX = ToolContext("run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def run_python() -> Tool:
    return demo_registry().get("run_python")


def _run(sandbox, tool, code, timeout_s=15.0):  # type: ignore[no-untyped-def]
    text = sandbox.run(tool, tool.contract.input_model(code=code), CTX, timeout_s=timeout_s)
    return json.loads(text)


@pytest.fixture(scope="module")
def sandbox() -> SubprocessSandbox:
    return SubprocessSandbox(SandboxLimits(cpu_s=1, memory_mb=256))


@pytest.fixture(scope="module")
def listener():  # type: ignore[no-untyped-def]
    """A real local HTTP server the sandboxed code will try to reach."""

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"reachable")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_code_runs_and_its_prints_come_back(sandbox, run_python):
    result = _run(sandbox, run_python, "print(sum(range(10)))")
    assert (result["stdout"], result["exit_code"]) == ("45\n", 0)


def test_an_infinite_loop_is_killed_at_the_cpu_limit(sandbox, run_python):
    with pytest.raises(TerminalError) as caught:
        _run(sandbox, run_python, "while True:\n    pass")
    assert caught.value.code == "cpu_limit_exceeded"


def test_a_memory_bomb_hits_the_memory_limit(sandbox, run_python):
    with pytest.raises(TerminalError) as caught:
        _run(sandbox, run_python, "hog = bytearray(2 * 1024 ** 3)")
    assert caught.value.code == "memory_limit_exceeded"


def test_a_sleeper_is_killed_at_the_wall_clock_timeout(sandbox, run_python):
    with pytest.raises(SandboxTimeout):
        _run(sandbox, run_python, "import time\ntime.sleep(30)", timeout_s=1.0)


def test_a_call_cancelled_while_it_runs_is_killed_before_its_timeout(sandbox, run_python):
    ctx = ToolContext("run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC))
    threading.Timer(0.5, ctx.cancelled.set).start()
    args = run_python.contract.input_model(code="import time\ntime.sleep(30)")
    with pytest.raises(SandboxCancelled):  # not SandboxTimeout at 20 s
        sandbox.run(run_python, args, ctx, timeout_s=20.0)


def test_the_network_is_unreachable_from_the_sandbox(sandbox, listener, run_python):
    code = (
        "import urllib.request\n"
        f"print(urllib.request.urlopen('http://127.0.0.1:{listener}/', timeout=2).read())"
    )
    with socket.create_connection(("127.0.0.1", listener)):
        pass  # reachable from here
    with pytest.raises(TerminalError) as caught:
        _run(sandbox, run_python, code)
    assert caught.value.code == "sandbox_violation"


def test_spawning_processes_kills_the_call(sandbox, run_python):
    with pytest.raises(TerminalError) as caught:
        _run(sandbox, run_python, "import os\nos.system('echo escaped')")
    assert caught.value.code == "sandbox_violation"


def test_files_are_written_in_a_temporary_directory_that_goes_away(sandbox, run_python):
    code = "import os\nopen('note.txt', 'w').write('x')\nprint(os.getcwd())"
    scratch = Path(_run(sandbox, run_python, code)["stdout"].strip())
    assert scratch.parent.parent == Path(tempfile.gettempdir())
    assert scratch.parent.name.startswith("agentdeck-sandbox-")
    assert not scratch.exists()


def test_a_sandboxed_tool_must_be_a_module_level_function():
    tool = demo_registry().get("lookup_order")
    with pytest.raises(ConfigError, match="module-level"):
        importable(tool)


def test_a_calls_credential_never_enters_the_sandbox(sandbox, run_python):
    ctx = ToolContext(
        "run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC), "cred-secret"
    )
    code = (
        "import gc\n"
        "print([o.credential for o in gc.get_objects() if type(o).__name__ == 'ToolContext'])"
    )
    args = run_python.contract.input_model(code=code)
    result = json.loads(sandbox.run(run_python, args, ctx, timeout_s=15.0))
    assert result["stdout"] == "[None]\n"


def test_output_over_the_limit_fails_the_call(run_python):
    small = SubprocessSandbox(SandboxLimits(max_output_bytes=1_000))
    with pytest.raises(TerminalError) as caught:
        _run(small, run_python, "print('x' * 10_000)")
    assert caught.value.code == "output_too_large"
