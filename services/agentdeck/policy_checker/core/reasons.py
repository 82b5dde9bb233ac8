"""Reason templates: ``@reason("refund of {args.amount_cents|cents} exceeds ...")``.

A placeholder is ``{path}`` or ``{path|filter}``. The path walks the facts of
the request (``tool``, ``tenant``, ``agent``, ``autonomy_tier``,
``max_cost_micros``, ``args.<name>``, ``budget.<name>``, ``run.<name>``,
``rate.<name>``, ``kill_switch.<name>``, ``contract.<name>``); filters format
money: ``cents`` (integer cents) and ``micros`` (micro-USD), both as dollars.
A fact that is absent renders as ``?``: an explanation never fails a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from agentdeck.errors import ConfigError

__all__ = ["check_template", "dollars", "micro_dollars", "render"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:\|([a-z_]+))?\}")
_MISSING = "?"


def dollars(amount: Decimal) -> str:
    """``$1,234.50``; sub-cent amounts keep their digits (``$0.0012``)."""
    cents = amount.quantize(Decimal("0.01"))
    if cents == amount:
        return f"${cents:,.2f}"
    return f"${amount.normalize():,f}"


def micro_dollars(micros: int) -> str:
    """Micro-USD as dollars."""
    return dollars(Decimal(micros) / 1_000_000)


def _cents(value: Any) -> str:
    return dollars(Decimal(int(value)) / 100)


def _micros(value: Any) -> str:
    return micro_dollars(int(value))


_FILTERS: dict[str, Callable[[Any], str]] = {"cents": _cents, "micros": _micros}


def check_template(template: str, *, what: str) -> None:
    """Raise :class:`ConfigError` if ``template`` has a stray brace or an unknown filter."""
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(2)
        if name is not None and name not in _FILTERS:
            raise ConfigError(f"{what}: unknown reason filter {name!r} (use cents or micros)")
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise ConfigError(f"{what}: reason template has an unmatched brace: {template!r}")


def render(template: str, facts: Mapping[str, Any]) -> str:
    """``template`` with every placeholder replaced from ``facts``."""

    def replace(match: re.Match[str]) -> str:
        value = _lookup(facts, match.group(1))
        if value is None:
            return _MISSING
        name = match.group(2)
        if name is None:
            return _text(value)
        try:
            return _FILTERS[name](value)
        except (TypeError, ValueError, ArithmeticError):
            return _text(value)

    return _PLACEHOLDER.sub(replace, template)


def _lookup(facts: Mapping[str, Any], path: str) -> Any:
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(sorted(_text(v) for v in value))
    return str(value)
