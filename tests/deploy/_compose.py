"""Compose's variable interpolation, as ``docker compose config`` applies it before validating."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MissingVariable", "interpolate", "variables"]

_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\})"
)


class MissingVariable(Exception):
    """A ``${NAME:?message}`` whose variable is unset or empty."""


def variables(text: str) -> dict[str, str | None]:
    """Every variable the file reads, with its operator (``:?`` required, ``:-`` defaulted)."""
    return {m["name"]: m["op"] for m in _VARIABLE.finditer(text) if m["name"]}


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """``node`` (parsed YAML) with every string's variables substituted from ``env``."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    if isinstance(node, str):
        return _VARIABLE.sub(lambda m: _substitute(m, env), node)
    return node


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    name, op, arg = match["name"], match["op"], match["arg"]
    if name is None:
        return "$"
    value = env.get(name)
    unset = value is None or (value == "" and op is not None and op.startswith(":"))
    if op in {":?", "?"} and unset:
        raise MissingVariable(f"{name}: {arg}")
    if op in {":-", "-"} and unset:
        return arg
    return value or ""
