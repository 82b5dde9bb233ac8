"""Lint and render the chart with real Helm (its Go SDK, no cluster) into ``tests/deploy/golden/``.

The deployment tests render the chart with a small Python renderer and require
the same documents as these files, so the renderer is held to Helm's behaviour.
Run after changing the chart or its values files::

    pip install helm-python-sdk==0.2.2 pyyaml   # Helm v4 SDK in a wheel; no binary download
    python tools/render_golden.py
"""

from __future__ import annotations

from pathlib import Path

import helm_python  # type: ignore[import-not-found]
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "agentdeck"
GOLDEN = ROOT / "tests" / "deploy" / "golden"
CASES = {
    "default": None,
    "production": CHART / "values-production.yaml",
    "dev": CHART / "ci" / "dev-values.yaml",
}
RELEASE = "agentdeck"
NAMESPACE = "agentdeck"


def render(values_file: Path | None) -> str:
    """``helm template``'s output: each non-empty template under a ``# Source:`` line."""
    values = yaml.safe_load(values_file.read_text(encoding="utf-8")) if values_file else {}
    with helm_python.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    return "".join(
        f"---\n# Source: {path}\n{text.strip()}\n"
        for path, text in sorted(manifests.items())
        if text.strip()
    )


def lint(values_file: Path | None) -> None:
    """``helm lint --strict`` for Kubernetes 1.33; warnings and errors stop the run."""
    values = yaml.safe_load(values_file.read_text(encoding="utf-8")) if values_file else {}
    report = helm_python.lint(str(CHART), values, strict=True, kube_version="v1.33.0")
    problems = [m["error"] for m in report["messages"] if m["severity"] >= 2]
    if problems or report["errors"]:
        raise SystemExit(f"helm lint ({values_file}): {problems + report['errors']}")


def main() -> None:
    """Lint each case, then write its golden file."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for case, values_file in CASES.items():
        lint(values_file)
        (GOLDEN / f"{case}.yaml").write_text(render(values_file), encoding="utf-8")


if __name__ == "__main__":
    main()
