"""Declaring tools with a decorator and finding them by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

from pydantic import BaseModel

from agentdeck.errors import ConfigError, TerminalError
from agentdeck.tools._contract import Tool, ToolContract, ToolFunction

__all__ = ["ToolRegistry", "UnknownTool"]


class UnknownTool(TerminalError):
    """A plan or a request names a tool this registry does not have."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown tool {name!r}",
            capability="tools.lookup",
            code="unknown_tool",
            remediation=(
                f"use one of: {', '.join(known) or 'no tools registered'}",
                "deploy an executor that registers the tool",
            ),
        )


def _models(function: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]]:
    hints = get_type_hints(function)
    params = list(inspect.signature(function).parameters)
    if not params:
        raise ConfigError(f"tool {function.__name__} must take its arguments model first")
    args, result = hints.get(params[0]), hints.get("return")
    for model, role in ((args, "argument"), (result, "return")):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(f"tool {function.__name__}: {role} must be a pydantic model")
    return args, result  # type: ignore[return-value]


class ToolRegistry:
    """The tools one process knows, by name."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def tool(self, **contract: Any) -> Callable[[ToolFunction], ToolFunction]:
        """Register a typed function as a tool; keyword arguments fill its :class:`ToolContract`.

        The arguments and result models are read from the annotations:
        ``def lookup_order(args: OrderQuery, ctx: ToolContext) -> Order``.
        """

        def register(function: ToolFunction) -> ToolFunction:
            args, result = _models(function)
            contract.setdefault("name", function.__name__)
            contract.setdefault("description", inspect.getdoc(function) or "")
            self.add(
                Tool(ToolContract(input_model=args, output_model=result, **contract), function)
            )
            return function

        return register

    def add(self, tool: Tool) -> None:
        """Register ``tool``; a second tool of the same name is a mistake."""
        name = tool.contract.name
        if name in self._tools:
            raise ConfigError(f"tool {name!r} is registered twice")
        self._tools[name] = tool

    def get(self, name: str) -> Tool:
        """The tool called ``name``; :class:`UnknownTool` if there is none."""
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(name, self.names()) from None

    def contract(self, name: str) -> ToolContract:
        """The contract of the tool called ``name``."""
        return self.get(name).contract

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        return sorted(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools
