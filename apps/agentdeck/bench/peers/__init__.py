"""The bench workload on the engines people would use instead: LangGraph and DBOS.

Each peer runs in its own Python process (``python -m
agentdeck.bench.peers.<name>``), so its imports, threads and event loop never
share ours; :func:`run_peer` starts it and returns its JSON result. The peers'
packages are the optional extra ``agentdeck[peers]``; :func:`installed` says
whether they are present without importing them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from agentdeck.bench.peers.errors import PeerError, PeerFailed, PeerNotInstalled
from agentdeck.errors import ConfigError

__all__ = ["PEERS", "PeerError", "PeerFailed", "PeerNotInstalled", "installed", "run_peer"]

PEERS = ("langgraph", "dbos")

# The modules each peer's workload imports; all must be importable.
_REQUIRES: dict[str, tuple[str, ...]] = {
    "langgraph": ("langgraph.graph", "langgraph.checkpoint.postgres", "psycopg_pool"),
    "dbos": ("dbos",),
}
_GRACE_S = 10.0


def _findable(module: str) -> bool:
    """Whether ``module`` is there, without importing it or its parents.

    ``find_spec`` on a dotted name imports the parents, so only the top level
    goes through it; below it, the package directories are looked up.
    """
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not rest:
        return spec is not None
    roots = [Path(root) for root in spec.submodule_search_locations or ()]
    return any(
        root.joinpath(*rest).is_dir() or root.joinpath(*rest[:-1], f"{rest[-1]}.py").is_file()
        for root in roots
    )


def _requirements(name: str) -> tuple[str, ...]:
    if name not in _REQUIRES:
        raise PeerNotInstalled(f"unknown peer {name!r}; the peers are {', '.join(PEERS)}")
    return _REQUIRES[name]


def installed(name: str) -> bool:
    """Whether peer ``name``'s packages are installed (nothing is imported)."""
    return all(_findable(module) for module in _requirements(name))


def _command(name: str, database_url: str, counts: dict[str, int], out: Path) -> list[str]:
    options = [f"--{option}={value}" for option, value in counts.items()]
    return [
        sys.executable,
        "-m",
        f"agentdeck.bench.peers.{name}",
        f"--database-url={database_url}",
        *options,
        f"--json={out}",
    ]


def _last_lines(text: str, n: int = 5) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-n:])


def run_peer(
    name: str,
    *,
    database_url: str,
    steps: int,
    sequential: int,
    concurrent: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Run peer ``name``'s workload in a subprocess and return its result.

    ``database_url`` is an admin URL on the PostgreSQL server: the peer creates
    its own throwaway database there and drops it afterwards. Raises
    :class:`PeerNotInstalled` when the peer is unknown or absent, and
    :class:`PeerFailed` when it exits with an error or outlives ``timeout_s``.
    """
    if min(steps, sequential, concurrent) < 1:
        raise ConfigError("steps, sequential and concurrent runs must each be at least 1")
    if not installed(name):
        raise PeerNotInstalled(f"peer {name!r} is not installed: pip install 'agentdeck[peers]'")
    with tempfile.TemporaryDirectory(prefix=f"agentdeck-bench-{name}-") as tmp:
        out = Path(tmp) / "result.json"
        counts = {"steps": steps, "sequential": sequential, "concurrent": concurrent}
        cmd = _command(name, database_url, counts, out)
        with subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        ) as proc:
            try:
                _, stderr = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.terminate()  # SIGTERM: the workload drops its database on the way out
                try:
                    proc.communicate(timeout=_GRACE_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                raise PeerFailed(f"peer {name!r} did not finish within {timeout_s:g} s") from None
        if proc.returncode != 0:
            raise PeerFailed(f"peer {name!r} exited with {proc.returncode}: {_last_lines(stderr)}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result
