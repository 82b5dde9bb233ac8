"""Hostile code in the sandbox, under a root executor and a non-root one.

The non-root executor is a harness process started by ``setpriv`` as uid/gid
65534 with no capabilities (bounding set emptied) and ``no_new_privs``, that
first installs a seccomp filter denying ``unshare``, ``setns`` and ``clone``
(so no user namespaces: the pod the Helm chart describes). It runs the real
``SubprocessSandbox`` and prints the outcome. The secrets next to the executor
are world-readable and the target directory world-writable, so only the
sandbox stands between the code and them, not file permissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentdeck.demo.tools import demo_registry
from agentdeck.errors import TerminalError
from agentdeck.tool_executor.adapters import sandbox as sandbox_module
from agentdeck.tool_executor.adapters.sandbox import (
    SandboxCrashed,
    SandboxLimits,
    SandboxTimeout,
    SubprocessSandbox,
)
from agentdeck.tools import ToolContext

NOBODY = 65534
CTX = ToolContext("run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC))
LIMITS = SandboxLimits(cpu_s=1, memory_mb=256)

HARNESS = r"""
import ctypes, dataclasses, errno, json, os, sys
request = json.loads(sys.stdin.read())
sys.path[:0] = request["path"]
from datetime import UTC, datetime
from agentdeck.demo.tools import demo_registry
from agentdeck.errors import TerminalError
from agentdeck.tool_executor.adapters import _seccomp
from agentdeck.tool_executor.adapters.sandbox import *
from agentdeck.tools import ToolContext

no = [_seccomp.deny(_seccomp.syscall_number(name), _seccomp.ERRNO | errno.EPERM)
      for name in ("unshare", "setns", "clone")]
no.append(_seccomp.deny(_seccomp.syscall_number("clone3"), _seccomp.ERRNO | errno.ENOSYS))
if request["deny_landlock"]:  # a runtime profile that predates Landlock
    no += [_seccomp.deny(nr, _seccomp.ERRNO | errno.ENOSYS) for nr in (444, 445, 446)]
_seccomp.install(_seccomp.program(*no))
userns = ctypes.CDLL(None, use_errno=True).unshare(0x10000000)
with open("/proc/self/status") as status:
    caps = [line.split()[1] for line in status if line.startswith("CapEff")][0]
from agentdeck.tool_executor.adapters.isolation import Isolation
# Trusting the isolation skips the probe: the call's own lockdown must refuse.
trusted = Isolation(available=True) if request["trust_isolation"] else None
sandbox = SubprocessSandbox(SandboxLimits(cpu_s=1, memory_mb=256), isolation=trusted)
out = {"uid": os.getuid(), "caps": caps, "userns": userns,
       "isolation": dataclasses.asdict(sandbox.isolation)}
if request["code"] is not None:
    tool = demo_registry().get("run_python")
    ctx = ToolContext("run-1", "s1", "acme", None, "key-1", 1, datetime(2030, 1, 1, tzinfo=UTC))
    try:
        args = tool.contract.input_model(code=request["code"])
        out["ok"] = json.loads(sandbox.run(tool, args, ctx, timeout_s=request["timeout_s"]))
    except TerminalError as exc:
        out["error"] = exc.code
    except SandboxTimeout:
        out["error"] = "timeout"
    except SandboxCrashed:
        out["error"] = "crashed"
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Outcome:
    """How a call ended: the tool's result, or the error code of a failed call."""

    ok: dict[str, Any] | None = None
    error: str | None = None

    @property
    def stdout(self) -> str:
        assert self.ok is not None, f"the call failed: {self.error}"
        return str(self.ok["stdout"])

    @property
    def stderr(self) -> str:
        assert self.ok is not None, f"the call failed: {self.error}"
        return str(self.ok["stderr"])


def _setpriv(python: str) -> list[str]:
    return [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        python,
        "-I",
        "-S",
    ]


_CAN_RUN_THE_SANDBOX = (
    "import json, subprocess, sys\n"
    "sys.path[:0] = json.loads(sys.stdin.read())\n"
    "import agentdeck.tool_executor.adapters.sandbox\n"
    "code = 'import sys; print(*sys.version_info[:2], sep=\".\")'\n"
    "child = [sys.executable, '-I', '-S', '-c', code]\n"
    "print(subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip())\n"
)


def _project_path() -> list[str]:
    """The test's import path without its own interpreter's standard library."""
    return [p for p in sys.path if p and not p.startswith(sys.base_prefix)]


def _unprivileged_python() -> str | None:
    # The test interpreter may live where uid 65534 cannot reach (under /root);
    # the same CPython version elsewhere runs the same code and packages. It
    # must start its own children too (setpriv execs it while still privileged)
    # and read the project (a checkout under a private directory cannot).
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                [*_setpriv(python), "-c", _CAN_RUN_THE_SANDBOX],
                input=json.dumps(_project_path()),
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if done.returncode == 0 and done.stdout.strip() == version:
                return python
    return None


class Box:
    """Runs run_python code in the sandbox, as the executor of one kind."""

    def __init__(self, kind: str, env: dict[str, str], python: str | None = None) -> None:
        self.kind, self.env, self.python = kind, env, python
        self.sandbox = SubprocessSandbox(LIMITS)
        self.tool = demo_registry().get("run_python")

    def run(self, code: str, timeout_s: float = 10.0) -> Outcome:
        if self.kind == "root":
            return self._here(code, timeout_s)
        report = self.harness(code, timeout_s)
        assert (report["uid"], report["caps"], report["userns"]) == (NOBODY, "0" * 16, -1)
        return Outcome(ok=report.get("ok"), error=report.get("error"))

    def harness(
        self,
        code: str | None,
        timeout_s: float = 10.0,
        *,
        deny_landlock: bool = False,
        trust_isolation: bool = False,
    ) -> dict[str, Any]:
        assert self.python is not None
        request = {"path": _project_path(), "code": code, "timeout_s": timeout_s}
        request |= {"deny_landlock": deny_landlock, "trust_isolation": trust_isolation}
        done = subprocess.run(
            [*_setpriv(self.python), "-c", HARNESS],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=self.env,
            cwd="/",
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def _here(self, code: str, timeout_s: float) -> Outcome:
        args = self.tool.contract.input_model(code=code)
        try:
            return Outcome(
                ok=json.loads(self.sandbox.run(self.tool, args, CTX, timeout_s=timeout_s))
            )
        except TerminalError as exc:
            return Outcome(error=exc.code)
        except SandboxTimeout:
            return Outcome(error="timeout")
        except SandboxCrashed:
            return Outcome(error="crashed")


@dataclass(frozen=True)
class Nearby:
    """What lies next to the executor: its data directory and a secret in its environment."""

    data_dir: Path
    secret: str

    @property
    def keys(self) -> Path:
        return self.data_dir / "keys.json"


@pytest.fixture(scope="module")
def nearby() -> Iterator[Nearby]:
    data_dir = Path(tempfile.mkdtemp(prefix="agentdeck-data-"))
    secret = "canary-" + secrets.token_hex(16)
    (data_dir / "keys.json").write_text(json.dumps({"policy": secret}))
    (data_dir / "approver-token").write_text(secret)
    for path in data_dir.iterdir():
        path.chmod(0o644)
    data_dir.chmod(0o777)  # only the sandbox, not permissions, may keep code out
    yield Nearby(data_dir, secret)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def unprivileged_python() -> str | None:
    return _unprivileged_python() if os.geteuid() == 0 and shutil.which("setpriv") else None


@pytest.fixture(params=["root", "nonroot"])
def box(
    request: pytest.FixtureRequest,
    nearby: Nearby,
    unprivileged_python: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Box:
    env = {"PATH": "/usr/bin:/bin", "AGENTDECK_CANARY": nearby.secret}
    if request.param == "root":
        if os.geteuid() != 0:
            pytest.skip("the test process is not root")
        monkeypatch.setenv("AGENTDECK_CANARY", nearby.secret)
        return Box("root", env)
    if unprivileged_python is None:
        pytest.skip("uid 65534 cannot run this Python and project (or no root/setpriv)")
    return Box("nonroot", env, unprivileged_python)


def _orphans() -> set[int]:
    # A sandbox process whose scratch directory is gone outlived its call (the
    # directory goes only after the call's process group was killed and reaped).
    # Sandbox processes of calls still running elsewhere have theirs.
    found = set()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            cwd = str((entry / "cwd").readlink())
            if "agentdeck-sandbox-" in cwd and cwd.endswith("(deleted)"):
                found.add(int(entry.name))
    return found


@pytest.fixture
def no_survivors() -> Iterator[None]:
    before = _orphans()
    yield
    survivors = _orphans() - before
    for pid in survivors:  # do not leave them behind, then fail
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not survivors, f"sandbox processes outlived the call: {survivors}"


def test_the_executors_key_file_and_approver_token_cannot_be_read(box: Box, nearby: Nearby):
    paths = [str(nearby.keys), str(nearby.data_dir / "approver-token")]
    code = (
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        print('LEAK', open(path).read())\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    outcome = box.run(code)
    assert nearby.secret not in outcome.stdout
    assert outcome.stdout.split() == ["PermissionError", "PermissionError"]


def test_the_environment_is_empty(box: Box, nearby: Nearby):
    outcome = box.run("import os\nprint(sorted(os.environ))")
    assert outcome.stdout == "[]\n"
    assert nearby.secret not in outcome.stdout


def test_the_executors_proc_entries_cannot_be_read(box: Box, nearby: Nearby):
    code = (
        "import os\n"
        "ppid = os.getppid()\n"
        "names = ('environ', 'cmdline', 'status', 'maps', 'mem', 'root/etc/hostname', 'ns/net')\n"
        "for name in names:\n"
        "    try:\n"
        "        print('LEAK', name, open(f'/proc/{ppid}/{name}', 'rb').read()[:200])\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
        "for path in ('/proc/self/environ', '/etc/passwd', '/proc'):\n"
        "    try:\n"
        "        print('LEAK', path, os.listdir(path) if path == '/proc' else open(path).read())\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    outcome = box.run(code)
    assert "LEAK" not in outcome.stdout
    assert nearby.secret not in outcome.stdout
    assert set(outcome.stdout.split()) == {"PermissionError"}


def test_nothing_can_be_written_outside_the_scratch_directory(box: Box, nearby: Nearby):
    targets = [
        nearby.data_dir / "keys.json",
        nearby.data_dir / "planted.py",
        Path(sandbox_module.__file__).with_name(f"planted_{secrets.token_hex(4)}.py"),
        Path(tempfile.gettempdir()) / f"planted-{secrets.token_hex(4)}",
    ]
    code = (
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        open(path, 'a').write('owned')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    try:
        outcome = box.run(code)
        assert "WROTE" not in outcome.stdout
        assert nearby.secret in nearby.keys.read_text()
        assert not any(t.exists() for t in targets[1:])
    finally:
        for planted in targets[1:]:
            planted.unlink(missing_ok=True)


def test_the_key_file_cannot_be_linked_symlinked_or_moved_into_scratch(box: Box, nearby: Nearby):
    code = (
        "import os\n"
        f"keys = {str(nearby.keys)!r}\n"
        "for how in (os.link, os.symlink, os.rename):\n"
        "    try:\n"
        "        how(keys, 'stolen')\n"
        "        print('LEAK', open('stolen').read())\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
        "    if os.path.lexists('stolen'):\n"
        "        os.unlink('stolen')\n"
    )
    outcome = box.run(code)
    assert nearby.secret not in outcome.stdout
    assert "LEAK" not in outcome.stdout
    assert nearby.keys.exists()


def test_a_tcp_connection_to_localhost_never_arrives(box: Box):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n"
        )
        outcome = box.run(code)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # the call is over: a connection would be waiting here
    assert outcome.error == "sandbox_violation"


FORK_EXEC = """
import _posixsubprocess, os
r, w = os.pipe()
print(_posixsubprocess.fork_exec(
    [b"/bin/sh", b"-c", b"sleep 30"], [b"/bin/sh"], True, (), None, None,
    -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None, True))
"""
SPAWNS = {
    "subprocess": "import subprocess\nsubprocess.run(['/bin/sleep', '30'])",
    "os.system": "import os\nos.system('sleep 30')",
    "os.fork": "import os\nif os.fork() == 0:\n    import time; time.sleep(30)",
    "posix_spawn": "import os\nos.posix_spawn('/bin/sleep', ['sleep', '30'], {})",
    "fork_exec": FORK_EXEC,
    "setsid child": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    while True:\n"
        "        time.sleep(0.1)\n"
    ),
    "nsenter": "import os\nos.execv('/usr/bin/nsenter', ['nsenter', '-t', '1', '-n', 'true'])",
    "fork bomb": "import os\nwhile True:\n    os.fork()",
    "object.__subclasses__": (
        "wrap = next(c for c in object.__subclasses__() if c.__name__ == '_wrap_close')\n"
        "wrap.__init__.__globals__['system']('sleep 30')\n"
    ),
}


@pytest.mark.usefixtures("no_survivors")
@pytest.mark.parametrize("code", SPAWNS.values(), ids=SPAWNS.keys())
def test_starting_a_process_kills_the_call_and_nothing_survives(box: Box, code: str):
    assert box.run(code).error == "sandbox_violation"


CTYPES_UNDER_ANOTHER_NAME = """
import glob, importlib.util, os, sys
dynload = next(p for p in sys.path if p.endswith('lib-dynload'))
spec = importlib.util.spec_from_file_location('_ctypes', glob.glob(dynload + '/_ctypes.*')[0])
sys.modules['_ctypes'] = importlib.util.module_from_spec(spec)
init = os.path.join(os.path.dirname(os.__file__), 'ctypes', '__init__.py')
spec = importlib.util.spec_from_file_location('not_ctypes', init, submodule_search_locations=[])
not_ctypes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(not_ctypes)
libc = not_ctypes.CDLL(None, use_errno=True)
"""
RAW = {
    "unshare a user and net namespace": "libc.unshare(0x50000000)",
    "setns into the executor's namespace": "libc.setns(0, 0x40000000)",
    "ptrace the executor": "libc.ptrace(16, os.getppid(), 0, 0)",
    "fork through libc": "libc.fork()",
    "socket through syscall()": "libc.syscall(41, 2, 1, 0)",
    "raise the CPU limit": "import resource; resource.setrlimit(resource.RLIMIT_CPU, (-1, -1))",
    "System V shared memory": "libc.shmget(0, 4096, 0o1600)",
}


@pytest.mark.usefixtures("no_survivors")
@pytest.mark.parametrize("call", RAW.values(), ids=RAW.keys())
def test_ctypes_loaded_under_another_name_cannot_make_escaping_system_calls(box: Box, call: str):
    outcome = box.run(CTYPES_UNDER_ANOTHER_NAME + call + "\nprint('survived')")
    assert outcome.error == "sandbox_violation"


def test_ctypes_cannot_open_the_key_file_either(box: Box, nearby: Nearby):
    code = CTYPES_UNDER_ANOTHER_NAME + (
        f"fd = libc.open({str(nearby.keys).encode()!r}, 0)\nprint(fd, not_ctypes.get_errno())\n"
    )
    assert box.run(code).stdout.split() == ["-1", "13"]  # EACCES


def test_the_executor_cannot_be_signalled(box: Box):
    code = (
        "import os, signal\n"
        "for target in (os.getppid(), -os.getpgid(os.getppid()), -1):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    assert box.run(code).stdout.split() == ["PermissionError"] * 3


def test_gc_and_importlib_find_no_secret_and_load_no_package(box: Box):
    code = (
        "import gc, importlib, re\n"
        "shape = re.compile('can' + 'ary-[0-9a-f]{32}')\n"
        "print([o for o in gc.get_objects() if isinstance(o, str) and shape.search(o)])\n"
        "for name in ('sqlalchemy', 'agentdeck.signing', 'agentdeck.tool_executor.settings'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        print('IMPORTED', name)\n"
        "    except (ImportError, OSError) as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    lines = box.run(code).stdout.splitlines()
    assert lines[0] == "[]"
    assert not [line for line in lines if line.startswith("IMPORTED")]


def test_threads_are_refused(box: Box):
    code = "import threading\nthreading.Thread(target=print).start()"
    assert "can't start new thread" in box.run(code).stderr


def test_an_infinite_loop_is_killed_at_the_cpu_limit(box: Box):
    assert box.run("while True:\n    pass").error == "cpu_limit_exceeded"


def test_allocating_ten_gib_hits_the_memory_limit(box: Box):
    assert box.run("hog = bytearray(10 * 1024 ** 3)").error == "memory_limit_exceeded"


def test_a_file_larger_than_the_limit_cannot_be_written(box: Box):
    code = "open('big', 'wb').write(b'x' * (8 << 20))"
    assert "File too large" in box.run(code).stderr


@pytest.mark.usefixtures("no_survivors")
def test_a_sleeper_is_killed_at_the_wall_clock_timeout(box: Box):
    assert box.run("import time\ntime.sleep(30)", timeout_s=1.0).error == "timeout"


def test_the_sandbox_still_runs_code_after_all_that(box: Box):
    assert box.run("print(6 * 7)").stdout == "42\n"


@pytest.mark.parametrize("probed", [True, False], ids=["probed at start", "found in the call"])
def test_a_non_root_executor_without_landlock_refuses_sandboxed_calls(
    nearby: Nearby, unprivileged_python: str | None, probed: bool
):
    if unprivileged_python is None:
        pytest.skip("uid 65534 cannot run this Python and project (or no root/setpriv)")
    box = Box("nonroot", {"PATH": "/usr/bin:/bin"}, unprivileged_python)
    code = f"print(open({str(nearby.keys)!r}).read())"
    report = box.harness(code, deny_landlock=True, trust_isolation=not probed)
    assert (report.get("ok"), report["error"]) == (None, "sandbox_unavailable")
    if probed:
        assert report["isolation"]["available"] is False
        assert "Landlock" in report["isolation"]["reason"]
