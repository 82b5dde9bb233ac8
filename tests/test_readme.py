"""The README's commands are the ones CI and the Makefile run, and they work."""

import base64
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from agentdeck.kafka import Topic, record_headers
from agentdeck.planner.adapters.producers import ProducerRegistry
from agentdeck.planner.core.admission import Admitted, check_agent, check_grant
from testkit.kafka import read_topic

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _first_screen_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert block, "the README opens with a shell block"
    return [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_the_readme_opens_with_the_two_commands():
    assert _first_screen_commands() == ["make up", "make test"]
    assert README.index("make up") < 1200, "both commands are on the first screen"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "make test"


def test_the_make_targets_exist():
    for target in ("up", "test"):
        dry = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert dry.returncode == 0, dry.stderr


def test_the_readme_python_example_publishes_a_signed_goal_its_registry_entry_admits(
    kafka, codec, tmp_path
):
    code = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert code
    goals = Topic.GOALS.full(kafka.topic_prefix)
    source = code[1].replace('"127.0.0.1:9092"', repr(kafka.bootstrap_servers))
    source = source.replace('"agentdeck.goals"', repr(goals))
    namespace: dict[str, object] = {}
    exec(compile(source, "<README example>", "exec"), namespace)  # noqa: S102 -- our own README
    [message] = read_topic(kafka, goals, 1)
    assert message.key() == b"ticket-4711"
    assert codec.decode(message.value()) == namespace["goal"]

    entry = re.search(r"```yaml\n(.*?)```", README, re.DOTALL)
    assert entry
    key = namespace["crm_key"].public_key().public_bytes_raw()  # type: ignore[attr-defined]
    path = tmp_path / "producers.yaml"
    path.write_text(entry[1].replace("<base64 public key>", base64.b64encode(key).decode()))
    authenticator = ProducerRegistry.load(path).authenticator()
    admitted = authenticator.authenticate(message.value(), record_headers(message))
    assert isinstance(admitted, Admitted)
    assert admitted.producer_id == "crm"
    assert check_grant(namespace["goal"], admitted) is None  # type: ignore[arg-type]
    assert check_agent(namespace["goal"], admitted, "support-agent") is None  # type: ignore[arg-type]


def _agentdeck(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "agentdeck"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_up_runs_the_demo_and_ctrl_c_stops_everything(tmp_path):
    env = {
        **os.environ,
        "AGENTDECK_DATA_DIR": str(tmp_path),
        "KAFKA_BOOTSTRAP_SERVERS": "",
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        ["make", "-s", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "press Ctrl-C to stop" in line:
                break
        runs = _agentdeck(["runs"], env)
        approvals = _agentdeck(["approvals", "--as", "alice"], env)
        metrics = _agentdeck(["metrics"], env)
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = "".join(lines) + rest
    assert "agentdeck is up" in output, output
    assert output.count(" ok ") >= 5, output
    for outcome in ("completed", "waiting approval", "handed over to a human"):
        assert outcome in output, output
    assert runs.count("completed") == 3, runs
    assert runs.count("waiting_approval") == 1, runs
    assert "create_refund" in approvals, approvals
    assert "completion rate" in metrics, metrics
    assert "stopped; nothing left running" in output, output
    port = int(re.search(r"127\.0\.0\.1:(\d+)", output)[1])  # type: ignore[index]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the broker is gone"
    assert (tmp_path / "agentdeck.db").exists()
