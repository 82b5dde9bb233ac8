"""Finding a department's tools by module path.

Every service that needs the tool catalog (the planner and the policy-checker
for the contracts, the executor to run them) loads the same packages, named in
its settings as ``tool_packages``; ``agentdeck worker --tools PACKAGE`` runs an
executor for one department's package.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Sequence
from typing import Any

from agentdeck.errors import ConfigError
from agentdeck.tools._registry import ToolRegistry

__all__ = ["DEMO_TOOLS", "load_catalog", "load_registries", "load_registry"]

DEMO_TOOLS = "agentdeck.demo.tools"
"""The module an executor loads when no tool package is configured."""


def load_registry(module_path: str, **deps: Any) -> ToolRegistry:
    """The tools a module declares: its ``registry`` attribute, or what its ``tools()`` returns.

    ``tools`` receives those of ``deps`` it names as parameters (the executor
    offers ``store`` and ``http_allow_hosts``), so a department's tools can use the
    platform's store without reading any configuration themselves.

    Raises:
        ConfigError: The module cannot be imported or declares no tools.
    """
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigError(f"cannot import tool package {module_path!r}: {exc}") from exc
    registry = getattr(module, "registry", None)
    if isinstance(registry, ToolRegistry):
        return registry
    factory = getattr(module, "tools", None)
    if callable(factory):
        names = inspect.signature(factory).parameters
        made = factory(**{k: v for k, v in deps.items() if k in names})
        if isinstance(made, ToolRegistry):
            return made
    raise ConfigError(
        f"tool package {module_path!r} has neither a `registry` (ToolRegistry)"
        " nor a `tools()` function returning one"
    )


def load_registries(module_paths: Iterable[str], **deps: Any) -> ToolRegistry:
    """One registry holding the tools of every module (a name declared twice is an error)."""
    merged = ToolRegistry()
    for path in module_paths:
        for tool in load_registry(path, **deps):
            merged.add(tool)
    return merged


def load_catalog(packages: Sequence[str], **deps: Any) -> ToolRegistry:
    """The tools of ``packages`` as a service configures them: the demo catalog if none."""
    return load_registries(packages or (DEMO_TOOLS,), **deps)
