"""From a tool's raw output to what the planner may see: validated, screened, sized, sourced."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from agentdeck.contracts import ErrorInfo
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.tool_executor.core import failures
from agentdeck.tool_executor.core.record import Completion
from agentdeck.tool_executor.core.screening import Path, Rules, fit, free_text_paths, screen
from agentdeck.tools import ToolContract

__all__ = ["finish_output", "source_of"]


@lru_cache(maxsize=256)
def _free_text(model: type[BaseModel]) -> frozenset[Path]:
    return free_text_paths(model)


def source_of(contract: ToolContract, output: Any) -> str:
    """Provenance: the ``url`` an output names, else the tool itself."""
    if isinstance(output, dict) and isinstance(output.get("url"), str):
        return str(output["url"])
    return f"tool:{contract.name}@{contract.version}"


def finish_output(
    output_json: str, *, contract: ToolContract, rules: Rules, max_bytes: int
) -> Completion | ErrorInfo:
    """The completion to publish, or why the output cannot be published."""
    try:
        model = contract.output_model.model_validate_json(output_json)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return failures.invalid_output(contract.name, problems[:500])
    free = _free_text(contract.output_model)
    screened = screen(model.model_dump(mode="json"), free_text=free, rules=rules)
    data, cut = fit(screened.output, free_text=free, max_bytes=max_bytes)
    text = canonical_json(data)
    if len(text.encode()) > max_bytes:
        return failures.output_too_large(contract.name, len(text.encode()), max_bytes)
    flags = screened.flags | ({"truncated"} if cut else set())
    return Completion(
        output_json=text,
        output_hash=sha256_hex(text),
        cost_micros=contract.cost_micros,
        source=source_of(contract, data),
        tool_version=contract.version,
        flags=tuple(sorted(flags)),
    )
