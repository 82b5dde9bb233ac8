"""Deterministic ids are uuid5 of their parts, as they have always been derived."""

from __future__ import annotations

import uuid

import pytest

from agentdeck.contracts import NAMESPACE, deterministic_id


@pytest.mark.parametrize(
    "parts",
    [
        ("goal", "1"),
        ("",),
        ("6f1c1c9e-4a52-5b7d-9a0e-2f6d3c1b8a40", "agentdeck.events.ToolCallRequested", "s1", "2"),
        ("effect", "run-é", "step-€", "𝄞"),
        ("a\x1fb", "c"),
    ],
)
def test_a_deterministic_id_is_the_uuid5_of_its_parts_joined_by_unit_separators(parts):
    expected = uuid.uuid5(NAMESPACE, "\x1f".join(parts))

    assert deterministic_id(*parts) == str(expected)
    assert uuid.UUID(deterministic_id(*parts)).version == 5


def test_known_ids_stay_the_same():
    assert deterministic_id("goal", "1") == str(uuid.uuid5(NAMESPACE, "goal\x1f1"))
    assert deterministic_id("decision", "x") == "bbdfdda2-e28c-5902-8eae-97b2bcbabcf8"
