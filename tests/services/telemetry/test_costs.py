"""Where the money went: tool spend and model spend apart, and together per tenant."""

from rich.console import Console

from agentdeck.cli.views import costs_table
from agentdeck.contracts import deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.hashing import sha256_hex
from agentdeck.telemetry.core.costs import cost_breakdown
from testkit.kafka import NOW, TEST_PRODUCER


def _model_call(n: int, cost: int) -> m.LlmCallRecorded:
    return m.LlmCallRecorded(
        envelope=envelope_for(
            m.LlmCallRecorded,
            event_id=deterministic_id("costs", "llm", str(n)),
            tenant="acme",
            producer=TEST_PRODUCER,
            occurred_at=NOW,
            run_id="run-1",
        ),
        model="small",
        request_hash=sha256_hex(str(n)),
        request_json="{}",
        response_json="{}",
        prompt_tokens=10,
        completion_tokens=5,
        cost_micros=cost,
        latency_ms=1,
    )


def _tool_call(cost: int) -> m.ToolCallCompleted:
    return m.ToolCallCompleted(
        envelope=envelope_for(
            m.ToolCallCompleted,
            event_id=deterministic_id("costs", "tool"),
            tenant="acme",
            producer=TEST_PRODUCER,
            occurred_at=NOW,
            run_id="run-1",
        ),
        tool="lookup_order",
        idempotency_key="k",
        output_json="{}",
        output_hash=sha256_hex("{}"),
        cost_micros=cost,
        duration_ms=1,
        provenance=m.Provenance(source="test", fetched_at=NOW, tool_version="1.0"),
    )


def test_model_spend_and_tool_spend_are_totalled_apart_and_add_up_per_tenant():
    model = _model_call(1, 250_000)
    costs = cost_breakdown([model, _model_call(2, 50_000), _tool_call(100), model])
    assert (costs.tools_micros, costs.models_micros) == (100, 300_000)
    assert costs.by_tenant["acme"] == costs.total_micros == 300_100


def _rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in text.splitlines()]


def test_the_metrics_table_shows_a_total_for_tools_and_one_for_models():
    console = Console(width=120, record=True)
    console.print(costs_table(cost_breakdown([_model_call(1, 250_000), _tool_call(100)])))
    rows = _rows(console.export_text())
    assert ["tools", "total", "$0.0001"] in rows
    assert ["models", "total", "$0.2500"] in rows
