"""Templated arguments and conditions, evaluated in a sandbox.

``"{{ inputs.amount_cents }}"`` alone yields the value itself (an int stays an
int); text around a template renders as a string; conditions are plain
expressions (``steps.lookup.output.refundable_cents >= inputs.amount_cents``).
Templates see only the run's scope, cannot reach Python internals, and fail on
undefined names instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from jinja2 import StrictUndefined, Template, TemplateError, Undefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.hashing import canonical_json, sha256_hex

__all__ = ["TemplateFailed", "Templates"]

_WHOLE = re.compile(r"^\{\{(.*)\}\}$", re.DOTALL)
_COMPILED_MAX = 4096
T = TypeVar("T")


class TemplateFailed(TerminalError):
    """A playbook template or condition could not be evaluated for this run."""

    def __init__(self, where: str, error: Exception) -> None:
        super().__init__(
            f"{where}: {error}",
            capability="planner.templates",
            code="template_error",
            category=ErrorCategory.VALIDATION,
            remediation=(
                "check the goal's inputs against the playbook",
                "fix the playbook and submit the goal again",
            ),
        )


class Templates:
    """Evaluates templates against a scope (``inputs``, ``steps``, ``goal``, ``run``)."""

    _WRITTEN_MAX = 4096

    def __init__(self) -> None:
        self._env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._written: dict[int, tuple[dict[str, Any], str, str, bool]] = {}
        # Compiled once per source: compiling costs far more than evaluating, and every run
        # of a playbook evaluates the same templates (jinja caches only named templates).
        self._expressions: dict[str, Callable[..., Any]] = {}
        self._templates: dict[str, Template] = {}

    def written(self, args: dict[str, Any]) -> tuple[str, str]:
        """The canonical JSON of a playbook step's ``args`` as written (templates not
        evaluated), and its SHA-256."""
        entry = self._entry(args)
        return entry[1], entry[2]

    def literal(self, args: dict[str, Any]) -> tuple[str, str] | None:
        """:meth:`written` for ``args`` holding no template (they are what a call sends);
        None for templated ones, which are resolved per run."""
        entry = self._entry(args)
        return None if entry[3] else (entry[1], entry[2])

    def _entry(self, args: dict[str, Any]) -> tuple[dict[str, Any], str, str, bool]:
        """Computed once per step: a loaded playbook's steps and their arguments are never
        changed, and every run of a playbook plans and requests the same steps."""
        entry = self._written.get(id(args))
        if entry is None or entry[0] is not args:  # an id is reused once its args are gone
            if len(self._written) >= self._WRITTEN_MAX:
                self._written.clear()
            text = canonical_json(args)
            entry = self._written[id(args)] = (args, text, sha256_hex(text), self.templated(args))
        return entry

    def resolve(self, value: Any, scope: dict[str, Any], where: str) -> Any:
        """``value`` with every template in it evaluated (recursively through dicts and lists)."""
        try:
            return self._resolve(value, scope)
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateFailed(where, exc) from exc

    def templated(self, value: Any) -> bool:
        """Whether :meth:`resolve` would evaluate anything in ``value`` (else it is ``value``)."""
        if isinstance(value, dict):
            return any(self.templated(v) for v in value.values())
        if isinstance(value, list):
            return any(self.templated(v) for v in value)
        return isinstance(value, str) and "{{" in value

    def holds(self, condition: str, scope: dict[str, Any], where: str) -> bool:
        """Whether the expression ``condition`` is true in ``scope``."""
        try:
            return bool(self._expression(condition, scope))
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateFailed(where, exc) from exc

    def _expression(self, source: str, scope: dict[str, Any]) -> Any:
        expression = _compiled(self._expressions, source, self._expression_of)
        value = expression(**scope)
        if isinstance(value, Undefined):
            raise UndefinedError(f"{source.strip()!r} is undefined")
        return value

    def _resolve(self, value: Any, scope: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {k: self._resolve(v, scope) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v, scope) for v in value]
        if not isinstance(value, str) or "{{" not in value:
            return value
        whole = _WHOLE.match(value.strip())
        if whole and "{{" not in whole[1]:
            return self._expression(whole[1].strip(), scope)
        return _compiled(self._templates, value, self._env.from_string).render(**scope)

    def _expression_of(self, source: str) -> Callable[..., Any]:
        return self._env.compile_expression(source, undefined_to_none=False)


def _compiled(cache: dict[str, T], source: str, compile_source: Callable[[str], T]) -> T:
    """``source`` compiled, once: ``cache`` keeps at most 4,096 (emptied when full)."""
    compiled = cache.get(source)
    if compiled is None:
        if len(cache) >= _COMPILED_MAX:
            cache.clear()
        compiled = cache[source] = compile_source(source)
    return compiled
