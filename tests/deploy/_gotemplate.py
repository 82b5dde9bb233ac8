"""Render a Helm chart offline: the part of Go's text/template and Helm's functions it uses.

CI has no ``helm`` binary, so the chart tests render with this. It is checked
against real Helm: ``tests/deploy/golden/`` holds manifests rendered by Helm's
own Go SDK (``tools/render_golden.py``), and the tests require this renderer
to produce the same documents. An unknown function or construct is an error,
never silently skipped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RenderError", "merge_values", "render_chart"]

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>:=|[()|=,])
    |(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|(?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*))""",
    re.VERBOSE,
)


class RenderError(Exception):
    """A template failed: a ``required`` value is missing, ``fail`` was called, or bad syntax."""


# --- parsing ---------------------------------------------------------------


@dataclass
class _Pipe:
    decl: list[str]
    commands: list[list[Any]]  # operand tokens per command: ("str", v) ("field", path) ...


@dataclass
class _Node:
    kind: str  # text | action | if | range | with
    text: str = ""
    pipe: _Pipe | None = None
    body: list[_Node] = field(default_factory=list)
    orelse: list[_Node] = field(default_factory=list)


def _lex(source: str) -> Iterator[tuple[str, str]]:
    """("text", s) and ("action", s) pieces, with ``{{-`` and ``-}}`` trimming applied."""
    pos, trim_next = 0, False
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        yield "text", text
        yield "action", match.group(2).strip()
        trim_next, pos = bool(match.group(3)), match.end()
    tail = source[pos:]
    yield "text", tail.lstrip() if trim_next else tail


def _tokens(action: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(action.rstrip()):
        match = _TOKEN.match(action, pos)
        if match is None or match.end() == pos:
            raise RenderError(f"cannot parse {action!r} at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _pipe(tokens: list[tuple[str, str]]) -> _Pipe:
    decl: list[str] = []
    if any(t == ("op", ":=") for t in tokens):
        split = tokens.index(("op", ":="))
        decl = [v for k, v in tokens[:split] if k == "var"]
        tokens = tokens[split + 1 :]
    commands: list[list[Any]] = [[]]
    depth, group = 0, []
    for token in tokens:
        if token == ("op", "(") and depth == 0:
            depth, group = 1, []
            continue
        if depth:
            depth += {("op", "("): 1, ("op", ")"): -1}.get(token, 0)
            if depth == 0:
                commands[-1].append(("pipe", _pipe(group)))
            else:
                group.append(token)
            continue
        if token == ("op", "|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return _Pipe(decl, commands)


def _parse(
    pieces: Iterator[tuple[str, str]], defines: dict[str, list[_Node]]
) -> tuple[list[_Node], str]:
    """Nodes up to the closing ``end`` or ``else`` (returned as the second item)."""
    nodes: list[_Node] = []
    for kind, text in pieces:
        if kind == "text":
            if text:
                nodes.append(_Node("text", text=text))
            continue
        if text.startswith("/*"):
            continue
        word, _, rest = text.partition(" ")
        if word in {"end", "else"}:
            return nodes, text
        if word == "define":
            body, _ = _parse(pieces, defines)
            defines[_unquote(rest.strip())] = body
        elif word in {"if", "range", "with"}:
            nodes.append(_block(word, rest, pieces, defines))
        else:
            nodes.append(_Node("action", pipe=_pipe(_tokens(text))))
    return nodes, ""


def _block(
    word: str, rest: str, pieces: Iterator[tuple[str, str]], defines: dict[str, Any]
) -> _Node:
    node = _Node(word, pipe=_pipe(_tokens(rest)))
    node.body, closing = _parse(pieces, defines)
    if closing.startswith("else if "):
        node.orelse = [_block("if", closing.removeprefix("else if "), pieces, defines)]
    elif closing == "else":
        node.orelse, _ = _parse(pieces, defines)
    return node


def _unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    return str(yaml.safe_load(literal))


# --- evaluation --------------------------------------------------------------


def _truth(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, dict | list) and not value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_text(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_text(v) for v in value) + "]"
    return str(value)


def _to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    return (
        yaml.safe_dump(value, default_flow_style=False, sort_keys=True)
        .rstrip("\n")
        .removesuffix("\n...")
    )


def _indent(width: int, text: str) -> str:
    pad = " " * int(width)
    return pad + text.replace("\n", "\n" + pad)


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise RenderError(message)
    return value


def _fail(message: str) -> Any:
    raise RenderError(message)


def _printf(form: str, *args: Any) -> str:
    parts = iter(args)
    return re.sub(r"%[sdv]", lambda _m: _text(next(parts)), form)


def _empty(value: Any) -> bool:
    return not _truth(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quote": lambda *v: " ".join('"' + _text(x).replace('"', '\\"') + '"' for x in v),
    "toYaml": _to_yaml,
    "indent": _indent,
    "nindent": lambda w, t: "\n" + _indent(w, t),
    "default": lambda d, v=None: v if _truth(v) else d,
    "required": _required,
    "fail": _fail,
    "printf": _printf,
    "print": lambda *v: "".join(_text(x) for x in v),
    "toString": _text,
    "dict": lambda *kv: {str(kv[i]): kv[i + 1] for i in range(0, len(kv), 2)},
    "list": lambda *v: list(v),
    "get": lambda m, k: m.get(k, ""),
    "hasKey": lambda m, k: k in m,
    "index": lambda v, *keys: _index(v, keys),
    "empty": _empty,
    "not": lambda v: not _truth(v),
    "and": lambda *v: next((x for x in v if not _truth(x)), v[-1]),
    "or": lambda *v: next((x for x in v if _truth(x)), v[-1]),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "trunc": lambda n, s: s[: int(n)],
    "trimSuffix": lambda suffix, s: s.removesuffix(suffix),
    "replace": lambda old, new, s: s.replace(old, new),
    "b64enc": lambda s: base64.b64encode(_text(s).encode()).decode(),
    "int": lambda v: int(v or 0),
    "upper": lambda s: s.upper(),
}


def _index(value: Any, keys: tuple[Any, ...]) -> Any:
    for key in keys:
        value = value[int(key)] if isinstance(value, list) else (value or {}).get(key)
    return value


def _walk(value: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif value is None:
            raise RenderError(f"nil pointer evaluating {path}")
        else:
            value = getattr(value, part)
    return value


@dataclass
class _Scope:
    dot: Any
    variables: dict[str, Any]
    defines: dict[str, list[_Node]]

    def child(self, dot: Any) -> _Scope:
        return _Scope(dot, dict(self.variables), self.defines)


def _operand(token: tuple[str, Any], scope: _Scope) -> Any:
    kind, value = token
    if kind == "str":
        return _unquote(value)
    if kind == "num":
        return float(value) if "." in value else int(value)
    if kind == "field":
        return _walk(scope.dot, value)
    if kind == "var":
        name, _, path = value.partition(".")
        if name not in scope.variables:
            raise RenderError(f"undefined variable {name}")
        return _walk(scope.variables[name], path)
    if kind == "pipe":
        return _run(value, scope)
    if kind == "ident" and value in {"true", "false", "nil"}:
        return {"true": True, "false": False, "nil": None}[value]
    raise RenderError(f"unexpected {value!r}")


def _command(command: list[Any], scope: _Scope, piped: list[Any]) -> Any:
    head = command[0]
    if head[0] == "ident" and head[1] not in {"true", "false", "nil"}:
        name = head[1]
        args = [_operand(t, scope) for t in command[1:]] + piped
        if name == "include":
            return _render(scope.defines[args[0]], _Scope(args[1], {"$": args[1]}, scope.defines))
        if name not in _FUNCTIONS:
            raise RenderError(f"function {name!r} not supported")
        return _FUNCTIONS[name](*args)
    if len(command) > 1 or piped:
        raise RenderError(f"cannot call a non-function {head[1]!r}")
    return _operand(head, scope)


def _run(pipe: _Pipe, scope: _Scope) -> Any:
    value: Any = None
    for position, command in enumerate(pipe.commands):
        value = _command(command, scope, [value] if position else [])
    if pipe.decl:
        scope.variables[pipe.decl[-1]] = value
    return value


def _render(nodes: list[_Node], scope: _Scope) -> str:
    out: list[str] = []
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action" and node.pipe is not None:
            value = _run(node.pipe, scope)
            out.append("" if node.pipe.decl else _text(value))
        else:
            out.append(_control(node, scope))
    return "".join(out)


def _control(node: _Node, scope: _Scope) -> str:
    assert node.pipe is not None
    if node.kind == "range":
        return _range(node, scope)
    value = _run(_Pipe([], node.pipe.commands), scope)
    if node.pipe.decl:
        scope.variables[node.pipe.decl[-1]] = value
    if not _truth(value):
        return _render(node.orelse, scope)
    return _render(node.body, scope.child(value) if node.kind == "with" else scope)


def _range(node: _Node, scope: _Scope) -> str:
    assert node.pipe is not None
    value = _run(_Pipe([], node.pipe.commands), scope)
    items = sorted(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
    if not items:
        return _render(node.orelse, scope)
    out = []
    for key, item in items:
        inner = scope.child(item)
        names = node.pipe.decl
        if len(names) == 2:
            inner.variables[names[0]], inner.variables[names[1]] = key, item
        elif names:
            inner.variables[names[0]] = item
        out.append(_render(node.body, inner))
    return "".join(out)


# --- charts ------------------------------------------------------------------


def merge_values(base: Any, override: Any) -> Any:
    """Helm's merge of user values over the chart's: maps merge key by key, the rest replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_values(base.get(key), value)
        return merged
    return override


def render_chart(
    chart_dir: Path, values: Mapping[str, Any] | None = None, *, name: str, namespace: str
) -> dict[str, str]:
    """Template path (``<chart>/templates/<file>``) -> rendered text, like ``helm template``."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8")) or {}
    context = {
        "Values": merge_values(defaults, dict(values or {})),
        "Release": {"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": True},
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart.get("appVersion", ""),
        },
    }
    defines: dict[str, list[_Node]] = {}
    parsed = {}
    for path in sorted((chart_dir / "templates").iterdir()):
        nodes, _ = _parse(_lex(path.read_text(encoding="utf-8")), defines)
        parsed[path.name] = nodes
    out = {}
    for file, nodes in parsed.items():
        if file.startswith("_") or not file.endswith((".yaml", ".yml")):
            continue
        text = _render(nodes, _Scope(context, {"$": context}, defines))
        out[f"{chart['name']}/templates/{file}"] = text
    return out
