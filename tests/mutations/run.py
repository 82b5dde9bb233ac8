"""Apply each named mutation to a copy of the tree and check its tests catch it.

``python tests/mutations/run.py [--only NAME ...] [--list]`` (``make mutate``).
The unmutated copy runs every named test first (it must be green); then each
mutation runs its own tests on a fresh copy. Prints one line per mutation and
the kill rate; exits 1 if any mutation survives, 2 if the baseline is red or a
mutation no longer applies (its snippet changed: update the catalog).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parents[2]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")


def _roots() -> list[str]:
    """The source roots the package installs from (``[tool.hatch.build] dev-mode-dirs``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["hatch"]["build"]["dev-mode-dirs"])


def _copy(into: Path) -> None:
    for name in [*_roots(), "tests", "schemas"]:
        shutil.copytree(ROOT / name, into / name, ignore=_IGNORE)
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")


def _pytest(tree: Path, tests: tuple[str, ...]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(tree / name) for name in [*_roots(), "tests"])
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly"]
    command += ["-p", "no:cacheprovider", *tests]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, check=False)
    return done.returncode


def _mutated(tree: Path, mutation: Mutation) -> None:
    target = tree / mutation.path
    source = target.read_text(encoding="utf-8")
    found = source.count(mutation.original)
    if found != 1:
        raise SystemExit(
            f"mutation {mutation.name}: its snippet occurs {found} times in {mutation.path}; "
            "the code changed, update tests/mutations/catalog.py"
        )
    target.write_text(source.replace(mutation.original, mutation.mutant), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the baseline, then every (or each named) mutation; the exit status as documented."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="Mutation names to run.")
    parser.add_argument("--list", action="store_true", help="List the mutations and stop.")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if args.only is None or m.name in args.only]
    if args.list or not chosen:
        for mutation in MUTATIONS:
            print(f"{mutation.name:<36} {mutation.invariant}")
        return 0 if args.list else 2
    tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
    with tempfile.TemporaryDirectory(prefix="agentdeck-mutant-") as scratch:
        baseline = Path(scratch) / "baseline"
        _copy(baseline)
        if _pytest(baseline, tests) != 0:
            print("baseline: the named tests fail without any mutation", file=sys.stderr)
            return 2
        survived = []
        for mutation in chosen:
            tree = Path(scratch) / mutation.name
            _copy(tree)
            _mutated(tree, mutation)
            started = time.monotonic()
            code = _pytest(tree, mutation.tests)
            verdict = "killed" if code == 1 else "SURVIVED" if code == 0 else f"error {code}"
            if code != 1:
                survived.append(mutation.name)
            print(
                f"{verdict:<9} {mutation.name:<36} {time.monotonic() - started:5.1f} s  "
                f"{mutation.invariant}",
                flush=True,
            )
    killed = len(chosen) - len(survived)
    print(f"kill rate: {killed}/{len(chosen)} ({killed / len(chosen):.0%})")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
