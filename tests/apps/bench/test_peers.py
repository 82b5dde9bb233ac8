"""The peer workloads (LangGraph, DBOS): detection, the subprocess runner, the result's shape.

The peers are an optional extra (``agentdeck[peers]``) that CI does not
install: the tests that run a peer skip when it is absent; the others run
everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from sqlalchemy import Engine, text

from agentdeck.bench.peers import PEERS, PeerFailed, PeerNotInstalled, installed, run_peer
from agentdeck.bench.peers._harness import Measurement, Workload, summarize
from agentdeck.errors import ConfigError
from testkit.sql import PG_ADMIN_URL

# The top-level modules each peer needs; hiding one makes the peer absent.
TOP_MODULES = {"langgraph": ("langgraph", "psycopg_pool"), "dbos": ("dbos",)}
TINY = {"steps": 2, "sequential": 2, "concurrent": 3}


def _each_installed_peer() -> list[object]:
    return [
        pytest.param(
            peer,
            marks=pytest.mark.skipif(
                not installed(peer),
                reason=f"{peer} is not installed (optional extra: pip install 'agentdeck[peers]')",
            ),
        )
        for peer in PEERS
    ]


@pytest.mark.parametrize(
    ("peer", "module"), [(peer, module) for peer, mods in TOP_MODULES.items() for module in mods]
)
def test_a_peer_whose_package_cannot_be_imported_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, peer: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)

    assert installed(peer) is False


def test_checking_whether_peers_are_installed_imports_none_of_them() -> None:
    probe = (
        "import sys\n"
        "from agentdeck.bench.peers import PEERS, installed\n"
        "print([installed(p) for p in PEERS])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'langgraph', 'dbos', 'psycopg_pool', 'langchain_core'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert out[0] == str([installed(p) for p in PEERS])
    assert out[1] == "[]"


def test_an_unknown_peer_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="unknown peer 'temporal'"):
        installed("temporal")


def test_running_a_missing_peer_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dbos", None)

    with pytest.raises(PeerNotInstalled, match=r"pip install 'agentdeck\[peers\]'") as raised:
        run_peer("dbos", database_url=PG_ADMIN_URL, timeout_s=60, **TINY)
    assert isinstance(raised.value, ConfigError)


def test_a_workload_of_zero_runs_is_refused_before_anything_starts() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        run_peer(
            "dbos", database_url=PG_ADMIN_URL, steps=10, sequential=0, concurrent=5, timeout_s=60
        )


def test_the_summary_derives_step_latency_and_throughput_from_the_runs() -> None:
    measurement = Measurement(
        version="9.9",
        run_latencies_s=[0.030, 0.010, 0.020, 0.040, 0.050],
        concurrent_wall_s=4.0,
        recorded_steps=2560,
        settings={"durability": "sync"},
    )

    result = summarize("somepeer", Workload(steps=10, sequential=5, concurrent=200), measurement)

    assert result["sequential_runs"] == 5
    assert result["run_latency_ms"] == {"p50": 30.0, "p95": 50.0}  # nearest rank, as ours
    assert result["step_latency_ms"] == {"p50": 3.0, "p95": 5.0}
    assert (result["runs_per_s"], result["steps_per_s"]) == (50.0, 500.0)
    assert (result["concurrent_runs"], result["recorded_steps"]) == (200, 2560)
    assert result["settings"] == {"durability": "sync"}


@pytest.mark.integration
@pytest.mark.parametrize("peer", _each_installed_peer())
def test_each_installed_peer_runs_the_workload_and_leaves_no_database(
    pg_admin: Engine, peer: str
) -> None:
    result = run_peer(peer, database_url=PG_ADMIN_URL, timeout_s=100, **TINY)

    assert result["peer"] == peer
    assert result["version"] == version(peer)
    assert (result["steps"], result["sequential_runs"], result["concurrent_runs"]) == (2, 2, 3)
    # Every step of every run (one warm-up, two sequential, three concurrent) is in the database.
    assert result["recorded_steps"] == (1 + 2 + 3) * 2
    for key in ("run_latency_ms", "step_latency_ms"):
        assert 0 < result[key]["p50"] <= result[key]["p95"]
    assert result["runs_per_s"] > 0
    assert result["steps_per_s"] == pytest.approx(result["runs_per_s"] * 2, abs=0.1)
    database = result["settings"]["postgres"]["database"]
    assert database.startswith(f"bench_{peer}_")
    with pg_admin.connect() as conn:
        left = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database})
        assert left.first() is None


@pytest.mark.integration
@pytest.mark.parametrize("peer", _each_installed_peer())
def test_a_peer_that_cannot_reach_its_database_fails_with_the_reason(peer: str) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/postgres"

    with pytest.raises(PeerFailed, match=rf"peer '{peer}' exited with 1: .*127\.0\.0\.1"):
        run_peer(peer, database_url=unreachable, timeout_s=100, **TINY)


@pytest.mark.parametrize("peer", _each_installed_peer())
def test_a_peer_that_outlives_its_timeout_is_stopped(peer: str) -> None:
    with pytest.raises(PeerFailed, match="did not finish within"):
        run_peer(peer, database_url=PG_ADMIN_URL, timeout_s=0.01, **TINY)


def test_percentiles_are_the_median_and_the_nearest_rank_95th() -> None:
    from agentdeck.bench.stats import percentiles

    values = [float(v) for v in range(1, 21)]  # 1..20 seconds
    assert percentiles(values) == {"p50": 10_500.0, "p95": 19_000.0}
    assert percentiles([2.0], scale=1.0) == {"p50": 2.0, "p95": 2.0}
