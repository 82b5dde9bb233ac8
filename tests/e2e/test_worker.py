"""``agentdeck worker``: a department's executor joins the running platform with its own tools."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

AGENTDECK = str(Path(sys.executable).with_name("agentdeck"))


def _env(platform):
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": platform.info.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": platform.info.topic_prefix,
        "AGENTDECK_DATABASE_URL": platform.info.database_url,
        "AGENTDECK_DATA_DIR": platform.info.data_dir,
        "COLUMNS": "200",
    }


def test_a_worker_runs_a_packages_tools_and_stops_cleanly(platform):
    process = subprocess.Popen(
        [AGENTDECK, "worker", "--tools", "agentdeck.demo.tools", "--name", "desk-worker"],
        env=_env(platform),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "running" in first
    assert "lookup_order" in first + rest


def test_a_worker_for_a_missing_package_says_so_in_one_line(platform):
    done = subprocess.run(
        [AGENTDECK, "worker", "--tools", "no.such.department"],
        env=_env(platform),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("agentdeck: error:")
    assert done.stderr.count("\n") == 1
    assert "no.such.department" in done.stderr
