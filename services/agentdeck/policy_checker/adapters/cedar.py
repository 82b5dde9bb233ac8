"""Cedar through ``cedarpy``: loading a bundle directory and answering requests in batches.

A bundle is a directory: ``manifest.yaml`` (name, version, tenants, agents,
tiers), a Cedar schema (``schema.cedarschema`` unless the manifest names
another file) and any number of ``*.cedar`` policy files, read in path order.
Loading parses and validates every policy against the schema; whatever is
wrong is a :class:`~agentdeck.errors.ConfigError`, so a bad bundle stops the
service at start instead of deciding anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cedarpy
import yaml
from pydantic import ValidationError

from agentdeck.errors import ConfigError
from agentdeck.policy_checker.core import (
    Answer,
    Bundle,
    Manifest,
    PolicyRule,
    digest_of,
    rule_from_annotations,
)

__all__ = ["MANIFEST", "CedarEngine", "bundle_files", "load_bundle"]

MANIFEST = "manifest.yaml"


class CedarEngine:
    """A validated bundle loaded into Cedar; implements the core's ``PolicyEngine``."""

    def __init__(self, bundle: Bundle, policies: cedarpy.PolicySet) -> None:
        self._bundle = bundle
        self._policies = policies

    @property
    def bundle(self) -> Bundle:
        """The bundle this engine evaluates."""
        return self._bundle

    def authorize(
        self, requests: Sequence[Mapping[str, Any]], entities: Sequence[Mapping[str, Any]]
    ) -> list[Answer]:
        """Answer every request in one ``is_authorized_batch`` call."""
        results = cedarpy.is_authorized_batch(
            [dict(r) for r in requests], self._policies, json.dumps(list(entities))
        )
        return [
            Answer(
                allowed=r.allowed,
                policies=tuple(r.diagnostics.reasons),
                errors=tuple(r.diagnostics.errors),
            )
            for r in results
        ]


def bundle_files(root: Path) -> dict[str, bytes]:
    """Every file of the bundle (hidden files and ``__pycache__`` aside), by POSIX path."""
    if not (root / MANIFEST).is_file():
        raise ConfigError(f"policy bundle {root}: no {MANIFEST}")
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        skipped = any(p.startswith(".") or p == "__pycache__" for p in relative.parts)
        if path.is_file() and not skipped:
            files[relative.as_posix()] = path.read_bytes()
    return files


def load_bundle(root: str | Path) -> CedarEngine:
    """Load, validate and digest the bundle in ``root``.

    Raises:
        ConfigError: The directory is no bundle, the manifest or schema is
            invalid, a policy does not parse, lacks an ``@id`` or does not
            validate against the schema.
    """
    root = Path(root)
    files = bundle_files(root)
    manifest = _manifest(root, files)
    schema = _schema(root, files, manifest)
    texts = {p: _text(root, p, files[p]) for p in files if p.endswith(".cedar")}
    if not texts:
        raise ConfigError(f"policy bundle {root}: no *.cedar policy files")
    policies: dict[str, Any] = {}
    rules: dict[str, PolicyRule] = {}
    for path, text in texts.items():
        for est in _parse(root, path, text):
            rule = _rule(root, path, est)
            if rule.id in rules:
                raise ConfigError(f"policy bundle {root}: @id {rule.id!r} is used twice")
            rules[rule.id] = rule
            policies[rule.id] = est
    _validate("\n".join(texts.values()), schema, root)
    policy_set = cedarpy.PolicySet.from_json_str(
        json.dumps({"staticPolicies": policies, "templates": {}, "templateLinks": []})
    )
    return CedarEngine(Bundle(manifest, digest_of(files), rules), policy_set)


def _text(root: Path, path: str, raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"policy bundle {root}: {path} is not UTF-8") from exc


def _manifest(root: Path, files: Mapping[str, bytes]) -> Manifest:
    try:
        return Manifest.model_validate(yaml.safe_load(files[MANIFEST]))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"policy bundle {root}: invalid {MANIFEST}: {exc}") from exc


def _schema(root: Path, files: Mapping[str, bytes], manifest: Manifest) -> cedarpy.Schema:
    raw = files.get(manifest.schema_file)
    if raw is None:
        raise ConfigError(f"policy bundle {root}: schema file {manifest.schema_file} is missing")
    try:
        return cedarpy.Schema.from_str(_text(root, manifest.schema_file, raw))
    except ValueError as exc:
        raise ConfigError(f"policy bundle {root}: schema does not parse: {exc}") from exc


def _parse(root: Path, path: str, text: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise ConfigError(f"policy bundle {root}: {path} does not parse: {exc}") from exc
    if parsed.get("templates"):
        raise ConfigError(f"policy bundle {root}: {path}: policy templates are not supported")
    return list(parsed.get("staticPolicies", {}).values())


def _rule(root: Path, path: str, est: Mapping[str, Any]) -> PolicyRule:
    try:
        return rule_from_annotations(est["effect"], est.get("annotations") or {})
    except ConfigError as exc:
        raise ConfigError(f"policy bundle {root}: {path}: {exc}") from exc


def _validate(text: str, schema: cedarpy.Schema, root: Path) -> None:
    result = cedarpy.validate_policies(text, schema)
    if result.validation_passed:
        return
    names = result.id_annotations_by_policy_id
    problems = [f"[{names.get(e.policy_id, e.policy_id)}] {e.error}" for e in result.errors]
    raise ConfigError(
        f"policy bundle {root} does not validate against its schema: " + "; ".join(problems)
    )
