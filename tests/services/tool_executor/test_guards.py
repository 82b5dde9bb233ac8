"""Admission control on its own: concurrency slots per tool, rate windows per tenant."""

from pydantic import BaseModel

from agentdeck.breaker import BreakerConfig
from agentdeck.hotstate import InProcessHotState
from agentdeck.tool_executor.adapters.guards import ToolGuards
from agentdeck.tools import ToolContract


class M(BaseModel):
    x: int = 0


def _contract(**fields) -> ToolContract:  # type: ignore[no-untyped-def]
    return ToolContract(
        name="slow", version="1", description="", input_model=M, output_model=M, **fields
    )


def test_a_tool_never_has_more_calls_in_flight_than_its_concurrency_limit():
    guards = ToolGuards(InProcessHotState(), BreakerConfig())
    contract = _contract(max_concurrency=1, timeout_s=0.05)
    with guards.slot(contract) as first, guards.slot(contract) as second:
        assert (first, second) == (True, False)
    with guards.slot(contract) as again:
        assert again


def test_rate_windows_are_per_tenant(hot):  # type: ignore[no-untyped-def]
    guards = ToolGuards(hot, BreakerConfig())
    contract = _contract(rate_limit_per_minute=1)
    assert guards.rate_limit(contract, "acme") is None
    assert guards.rate_limit(contract, "acme").code == "rate_limited"
    assert guards.rate_limit(contract, "globex") is None
