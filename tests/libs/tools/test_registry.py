import pytest
from pydantic import BaseModel

from agentdeck.errors import ConfigError
from agentdeck.tools import SideEffect, ToolContext, ToolRegistry, UnknownTool


class Query(BaseModel):
    order_id: str


class Order(BaseModel):
    order_id: str
    amount_cents: int


def test_a_typed_function_becomes_a_tool_with_its_contract():
    registry = ToolRegistry()

    @registry.tool(version="2", side_effect=SideEffect.READ, cost_micros=100)
    def lookup_order(args: Query, ctx: ToolContext) -> Order:
        """Look an order up by id."""
        return Order(order_id=args.order_id, amount_cents=100)

    contract = registry.contract("lookup_order")
    assert (contract.version, contract.input_model, contract.output_model) == ("2", Query, Order)
    assert contract.description == "Look an order up by id."
    assert contract.json_schema()["required"] == ["order_id"]
    assert "lookup_order" in registry
    assert registry.names() == ["lookup_order"]


def test_an_unknown_tool_is_a_terminal_failure_that_lists_the_known_ones():
    registry = ToolRegistry()
    with pytest.raises(UnknownTool) as caught:
        registry.get("frobnicate")
    assert caught.value.code == "unknown_tool"
    assert not caught.value.retryable


def test_untyped_functions_and_duplicates_are_refused():
    registry = ToolRegistry()
    with pytest.raises(ConfigError, match="pydantic model"):

        @registry.tool(version="1")
        def untyped(args, ctx):  # type: ignore[no-untyped-def]
            return args

    @registry.tool(version="1")
    def once(args: Query, ctx: ToolContext) -> Order:
        return Order(order_id="x", amount_cents=1)

    with pytest.raises(ConfigError, match="twice"):
        registry.tool(version="1", name="once")(once)
