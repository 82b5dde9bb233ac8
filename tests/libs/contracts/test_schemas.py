import json
import shutil
from pathlib import Path

import pytest

from agentdeck.contracts import ALL_EVENTS, SchemaError, SchemaRegistry, schema_dir
from agentdeck.contracts.codegen import main as codegen_main
from agentdeck.contracts.codegen import render
from agentdeck.contracts.compat import check_compatibility

PIPELINE_EVENTS = {
    "GoalSubmitted",
    "GoalRejected",
    "RunStarted",
    "RunCompleted",
    "RunFailed",
    "RunCancelled",
    "PlanProposed",
    "StepScheduled",
    "ToolCallRequested",
    "ToolCallStarted",
    "ToolCallCompleted",
    "ToolCallFailed",
    "PolicyDecided",
    "ApprovalRequested",
    "ApprovalGranted",
    "ApprovalDenied",
    "ApprovalExpired",
    "ApprovalEscalated",
    "BudgetReserved",
    "BudgetSettled",
    "KillSwitchSet",
    "AdmissionSet",
    "RunQueued",
    "RunDeadlineReached",
    "SubjectErased",
    "RollbackRequested",
    "RollbackReported",
    "DeadLettered",
    "LlmCallRecorded",
    "LlmCallFailed",
}


def _copy_schemas(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(schema_dir(), root)
    return root


def test_every_event_the_pipeline_needs_has_a_schema_and_a_model():
    assert {cls.__name__ for cls in ALL_EVENTS} == PIPELINE_EVENTS
    names = {name.rpartition(".")[2] for name in SchemaRegistry.load().names()}
    assert names == PIPELINE_EVENTS


def test_generated_models_match_the_schemas():
    assert codegen_main(["--check"]) == 0


def test_model_drift_is_detected(tmp_path):
    root = _copy_schemas(tmp_path)
    path = root / "events" / "RunCancelled.v1.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "extra", "type": "string", "doc": "x"})
    path.write_text(json.dumps(schema))
    assert render(root) != render()


def test_every_field_and_record_is_documented():
    def walk(node, where):
        if isinstance(node, list):
            for item in node:
                walk(item, where)
        elif isinstance(node, dict):
            if node.get("type") in ("record", "enum"):
                assert node.get("doc"), f"{where}: {node['name']} has no doc"
            for field in node.get("fields", ()):
                assert field.get("doc"), f"{where}: field {field['name']} has no doc"
                walk(field["type"], where)
            walk(node.get("items"), where)

    for version in SchemaRegistry.load().versions():
        walk(version.source.schema, version.full_name)


def test_every_schema_is_namespaced_and_fingerprints_are_unique():
    versions = SchemaRegistry.load().versions()
    assert all(v.full_name.startswith("agentdeck.events.") for v in versions)
    assert len({v.fingerprint for v in versions}) == len(versions)


def test_all_schema_versions_are_mutually_compatible():
    assert check_compatibility() == []


def test_an_additive_change_with_defaults_is_compatible(tmp_path):
    root = _copy_schemas(tmp_path)
    schema = json.loads((root / "events" / "RunCancelled.v1.avsc").read_text())
    schema["fields"].append(
        {"name": "note", "type": ["null", "string"], "default": None, "doc": "x"}
    )
    (root / "events" / "RunCancelled.v2.avsc").write_text(json.dumps(schema))
    assert check_compatibility(root) == []
    registry = SchemaRegistry.load(root)
    assert registry.latest("agentdeck.events.RunCancelled").version == 2


def test_a_new_field_without_default_is_reported_as_incompatible(tmp_path):
    root = _copy_schemas(tmp_path)
    schema = json.loads((root / "events" / "RunCancelled.v1.avsc").read_text())
    schema["fields"].append({"name": "ticket", "type": "string", "doc": "x"})
    (root / "events" / "RunCancelled.v2.avsc").write_text(json.dumps(schema))
    problems = check_compatibility(root)
    assert [(p.reader_version, p.writer_version) for p in problems] == [(2, 1)]
    assert "reader_field_missing_default_value" in problems[0].details


def test_a_type_change_is_reported_in_both_directions(tmp_path):
    root = _copy_schemas(tmp_path)
    schema = json.loads((root / "events" / "StepScheduled.v1.avsc").read_text())
    attempt = next(f for f in schema["fields"] if f["name"] == "attempt")
    attempt.update(type="string", default="1")
    (root / "events" / "StepScheduled.v2.avsc").write_text(json.dumps(schema))
    problems = check_compatibility(root)
    assert {(p.reader_version, p.writer_version) for p in problems} == {(2, 1), (1, 2)}


def test_a_file_whose_name_disagrees_with_its_record_is_refused(tmp_path):
    root = _copy_schemas(tmp_path)
    shutil.copy(root / "events" / "RunCancelled.v1.avsc", root / "events" / "RunFailed.v9.avsc")
    with pytest.raises(SchemaError, match="differs from file name"):
        SchemaRegistry.load(root)
