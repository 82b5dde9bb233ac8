"""Output screening: what a tool returned is checked before the planner (or an LLM) reads it.

* Every string is searched for prompt-injection patterns; a match is cut out
  and flagged ``prompt_injection``.
* Free-text fields (marked ``{"x-agentdeck-screen": "free-text"}`` in the
  output model's JSON schema) have emails, phone numbers and card numbers
  redacted, flagged ``pii:<kind>``. Structured fields (a ``customer_email``)
  are what the tool is for and stay as they are.
* Output above the size limit has its longest free-text fields shortened,
  flagged ``truncated``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel

from agentdeck.hashing import canonical_json

__all__ = ["SCREEN_KEY", "Path", "Rules", "Screened", "fit", "free_text_paths", "screen"]

SCREEN_KEY = "x-agentdeck-screen"
"""JSON-schema key whose value ``free-text`` marks a field for PII redaction."""

Path = tuple[str, ...]
"""A field path in a JSON document; ``*`` is any list index."""
_ANY = "*"
_CUT = "[removed: instruction-like text]"
_TRUNCATED = "...[truncated]"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<!\w)(?<!\d[\s.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]\d{3,5}"
    r"(?!\w)(?![\s.-]\d)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


@dataclass(frozen=True)
class Rules:
    """What to screen for."""

    redact: frozenset[str] = frozenset({"email", "phone", "card"})
    injection: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, redact: Iterable[str], injection: Iterable[str]) -> Rules:
        """Rules from settings: PII kinds, and injection regexes (case-insensitive)."""
        patterns = tuple(re.compile(p, re.IGNORECASE) for p in injection)
        return cls(frozenset(redact), patterns)


@dataclass(frozen=True)
class Screened:
    """The screened output and what screening did to it."""

    output: Any
    flags: frozenset[str] = field(default_factory=frozenset)


def _is_free_text(info: Any) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get(SCREEN_KEY) == "free-text"


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    return [(m, True) for arg in get_args(annotation) for m, _ in _models_in(arg)]


def free_text_paths(model: type[BaseModel], prefix: Path = ()) -> frozenset[Path]:
    """Paths of the free-text fields of ``model`` (``*`` stands for any list index)."""
    paths: set[Path] = set()
    for name, info in model.model_fields.items():
        if _is_free_text(info):
            paths.add((*prefix, name))
        for inner, listed in _models_in(info.annotation):
            paths |= free_text_paths(inner, (*prefix, name, *((_ANY,) if listed else ())))
    return frozenset(paths)


def _cards(text: str, flags: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if not _luhn(match.group()):
            return match.group()
        flags.add("pii:card")
        return "[card]"

    return _CARD.sub(replace, text)


def _redact(text: str, redact: frozenset[str], flags: set[str]) -> str:
    if "card" in redact:
        text = _cards(text, flags)
    for kind, pattern in (("email", _EMAIL), ("phone", _PHONE)):
        if kind in redact:
            text, n = pattern.subn(f"[{kind}]", text)
            flags.update({f"pii:{kind}"} if n else set())
    return text


def _screen_text(text: str, free: bool, rules: Rules, flags: set[str]) -> str:
    for pattern in rules.injection:
        text, n = pattern.subn(_CUT, text)
        flags.update({"prompt_injection"} if n else set())
    return _redact(text, rules.redact, flags) if free else text


def _walk(value: Any, path: Path, free: frozenset[Path], rules: Rules, flags: set[str]) -> Any:
    if isinstance(value, str):
        return _screen_text(value, path in free, rules, flags)
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), free, rules, flags) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, _ANY), free, rules, flags) for v in value]
    return value


def screen(output: Any, *, free_text: frozenset[Path], rules: Rules) -> Screened:
    """Screen a tool's JSON output (as plain data); see the module doc."""
    flags: set[str] = set()
    return Screened(_walk(output, (), free_text, rules, flags), frozenset(flags))


def _strings(value: Any, path: Path, free: frozenset[Path]) -> list[tuple[int, Any, Any]]:
    """(length, container, key) of every free-text string in ``value``."""
    found: list[tuple[int, Any, Any]] = []
    items: Iterable[tuple[Any, Any]] = (
        value.items() if isinstance(value, dict) else enumerate(value)
    )
    for key, item in items:
        sub: Path = (*path, str(key) if isinstance(value, dict) else _ANY)
        if isinstance(item, str) and sub in free:
            found.append((len(item), value, key))
        elif isinstance(item, dict | list):
            found.extend(_strings(item, sub, free))
    return found


def fit(output: Any, *, free_text: frozenset[Path], max_bytes: int) -> tuple[Any, bool]:
    """Shorten the longest free-text fields until the JSON fits; whether anything was cut.

    The caller checks the size again: output that still does not fit has no
    free text left to cut.
    """
    cut = False
    while len(canonical_json(output).encode()) > max_bytes and isinstance(output, dict | list):
        candidates = [c for c in _strings(output, (), free_text) if c[0] > len(_TRUNCATED)]
        if not candidates:
            break
        length, holder, key = max(candidates, key=lambda c: c[0])
        excess = len(canonical_json(output).encode()) - max_bytes
        holder[key] = holder[key][: max(0, length - excess - len(_TRUNCATED))] + _TRUNCATED
        cut = True
    return output, cut
