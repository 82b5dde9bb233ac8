"""Loading bundles: digest, annotations, and refusal of anything that does not validate."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agentdeck.errors import ConfigError
from agentdeck.policy_checker import core
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.main import DEMO_BUNDLE

EXTRA = Path("policies") / "extra.cedar"


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A writable copy of the demo bundle."""
    target = tmp_path / "bundle"
    shutil.copytree(DEMO_BUNDLE, target)
    return target


def _add_policy(root: Path, text: str) -> None:
    (root / EXTRA).write_text(text)


def test_the_demo_bundle_loads_with_its_version_digest_and_rules() -> None:
    bundle = load_bundle(DEMO_BUNDLE).bundle
    assert bundle.version == "2026.06.1"
    assert len(bundle.digest) == 64
    assert bundle.rules["refund-needs-approval"] == core.PolicyRule(
        id="refund-needs-approval",
        effect=core.Effect.REQUIRE_APPROVAL,
        reason=bundle.rules["refund-needs-approval"].reason,
        risk_band=core.RiskBand.MEDIUM,
        approver_role="support-lead",
    )
    assert bundle.rules["refund-above-limit"].effect is core.Effect.DENY


def test_the_digest_changes_when_a_policy_changes(bundle_dir: Path) -> None:
    before = load_bundle(bundle_dir).bundle.digest
    refunds = bundle_dir / "policies" / "refunds.cedar"
    refunds.write_text(refunds.read_text().replace("<= 5000", "<= 6000"))
    assert load_bundle(bundle_dir).bundle.digest != before


def test_the_digest_ignores_hidden_files_but_not_the_manifest(bundle_dir: Path) -> None:
    before = load_bundle(bundle_dir).bundle.digest
    (bundle_dir / ".notes").write_text("scratch")
    assert load_bundle(bundle_dir).bundle.digest == before
    manifest = bundle_dir / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("acme.example", "acme.test"))
    assert load_bundle(bundle_dir).bundle.digest != before


def test_the_digest_covers_paths_as_well_as_contents() -> None:
    assert core.digest_of({"a.cedar": b"x", "b.cedar": b"y"}) == core.digest_of(
        {"b.cedar": b"y", "a.cedar": b"x"}
    )
    assert core.digest_of({"a.cedar": b"x"}) != core.digest_of({"b.cedar": b"x"})


def test_a_policy_that_fails_schema_validation_is_refused(bundle_dir: Path) -> None:
    _add_policy(
        bundle_dir,
        '@id("typo")\npermit (principal, action, resource) when { context.budget.left > 0 };',
    )
    with pytest.raises(ConfigError, match=r"does not validate.*\[typo\]"):
        load_bundle(bundle_dir)


def test_a_policy_that_does_not_parse_is_refused(bundle_dir: Path) -> None:
    _add_policy(bundle_dir, '@id("broken")\npermit (principal, action, resource) when {;')
    with pytest.raises(ConfigError, match=re.escape("extra.cedar does not parse")):
        load_bundle(bundle_dir)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("permit (principal, action, resource);", "needs an @id"),
        ('@id("read-tools-allowed")\npermit (principal, action, resource);', "used twice"),
        (
            '@id("x")\n@effect("require_approval")\npermit (principal, action, resource);',
            "needs @risk_band and @approver_role",
        ),
        ('@id("x")\n@effect("allow")\nforbid (principal, action, resource);', "a forbid cannot"),
        ('@id("x")\n@effect("maybe")\npermit (principal, action, resource);', "unknown @effect"),
        (
            (
                '@id("x")\n@effect("require_approval")\n@risk_band("scary")\n'
                '@approver_role("lead")\npermit (principal, action, resource);'
            ),
            "unknown @risk_band",
        ),
        ('@id("x")\n@reason("{tool|euros}")\npermit (principal, action, resource);', "filter"),
        ('@id("x")\n@reason("{tool")\npermit (principal, action, resource);', "brace"),
    ],
)
def test_badly_annotated_policies_are_refused(bundle_dir: Path, policy: str, message: str) -> None:
    _add_policy(bundle_dir, policy)
    with pytest.raises(ConfigError, match=message):
        load_bundle(bundle_dir)


def test_a_directory_without_a_manifest_is_no_bundle(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("no manifest.yaml")):
        load_bundle(tmp_path)


def test_a_missing_schema_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "schema.cedarschema").unlink()
    with pytest.raises(ConfigError, match=re.escape("schema file schema.cedarschema is missing")):
        load_bundle(bundle_dir)


def test_an_invalid_manifest_is_refused(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.yaml").write_text("name: x\nversion: '1'\ndefault_agent: {tier: god}\n")
    with pytest.raises(ConfigError, match=re.escape("invalid manifest.yaml")):
        load_bundle(bundle_dir)
