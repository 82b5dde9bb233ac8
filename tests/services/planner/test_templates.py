"""A value without templates resolves to itself, so the planner skips building the scope for it."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.planner.core import TemplateFailed, Templates

PLAIN: list[Any] = [
    {"n": 1, "text": "no braces", "nested": {"list": [1, "a", {"deep": None}]}},
    ["{ not a template }", 2.5, True],
    ("{{ inside a tuple is never evaluated }}",),
    "plain",
    7,
    None,
]
TEMPLATED: list[Any] = [
    "{{ inputs.x }}",
    {"a": {"b": ["c", "total {{ inputs.x }}"]}},
    [1, ["{{ goal }}"]],
]


@pytest.mark.parametrize("value", PLAIN)
def test_a_value_without_templates_resolves_to_itself(value: Any):
    templates = Templates()

    assert not templates.templated(value)
    assert templates.resolve(value, {}, "args") == value


@pytest.mark.parametrize("value", TEMPLATED)
def test_a_value_with_a_template_anywhere_in_its_dicts_and_lists_is_templated(value: Any):
    templates = Templates()

    assert templates.templated(value)
    with pytest.raises(TemplateFailed):  # evaluated: the empty scope has no inputs
        templates.resolve(value, {}, "args")
