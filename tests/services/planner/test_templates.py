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


def test_each_template_and_condition_is_compiled_once_and_evaluated_per_scope(
    monkeypatch: pytest.MonkeyPatch,
):
    templates = Templates()
    env = templates._env  # counting what it compiles
    compiled: list[str] = []
    for name in ("compile_expression", "from_string"):
        original = getattr(env, name)

        def counting(source: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if isinstance(source, str):  # an expression is compiled as a template of its tree
                compiled.append(source)
            return _original(source, *args, **kwargs)

        monkeypatch.setattr(env, name, counting)
    args = {"amount": "{{ inputs.n }}", "note": "refund of {{ inputs.n }} cents"}

    first = templates.resolve(args, {"inputs": {"n": 1}}, "args")
    second = templates.resolve(args, {"inputs": {"n": 2}}, "args")
    holds = [templates.holds("inputs.n > 1", {"inputs": {"n": n}}, "when") for n in (1, 2)]

    assert first == {"amount": 1, "note": "refund of 1 cents"}
    assert second == {"amount": 2, "note": "refund of 2 cents"}
    assert holds == [False, True]
    assert sorted(compiled) == ["inputs.n", "inputs.n > 1", "refund of {{ inputs.n }} cents"]
