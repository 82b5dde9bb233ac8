"""Model prices: per model, per kind of token, cache hits at the cache price."""

import json

import pytest
from pydantic import ValidationError

from agentdeck.planner.core.pricing import (
    DEFAULT_PRICES,
    ModelPrice,
    call_cost_micros,
    price_of,
)
from agentdeck.planner.settings import PlannerSettings

PRICES = {
    "*": ModelPrice(prompt=1.0, completion=2.0, cached=0.5),
    "gpt-4o*": ModelPrice(prompt=2.5, completion=10.0, cached=1.25),
    "gpt-4o-mini*": ModelPrice(prompt=0.15, completion=0.6, cached=0.075),
    "local": ModelPrice(prompt=0.0, completion=0.0),
    "uncached": ModelPrice(prompt=3.0, completion=15.0),
}
USAGE = {"prompt_tokens": 1_000, "completion_tokens": 200}


def test_each_model_is_billed_at_its_own_prompt_and_completion_price():
    assert call_cost_micros(PRICES, "gpt-4o", USAGE, cache_hit=False) == 2_500 + 2_000
    assert call_cost_micros(PRICES, "local", USAGE, cache_hit=False) == 0


def test_the_longest_matching_pattern_prices_a_model_and_an_exact_name_beats_it():
    assert price_of(PRICES, "gpt-4o-2024-08-06") is PRICES["gpt-4o*"]
    assert price_of(PRICES, "gpt-4o-mini-2024-07-18") is PRICES["gpt-4o-mini*"]
    assert call_cost_micros(PRICES, "gpt-4o-mini", USAGE, cache_hit=False) == 150 + 120


def test_an_unknown_model_is_billed_at_the_default_price():
    assert price_of(PRICES, "claude-somewhere") is PRICES["*"]
    assert call_cost_micros(PRICES, "claude-somewhere", USAGE, cache_hit=False) == 1_000 + 400


def test_an_answer_from_the_response_cache_is_billed_at_the_cached_price_for_every_token():
    assert call_cost_micros(PRICES, "gpt-4o", USAGE, cache_hit=True) == 1_500  # 1,200 x 1.25
    assert call_cost_micros(PRICES, "claude-somewhere", USAGE, cache_hit=True) == 600


def test_prompt_tokens_the_provider_cached_are_billed_at_the_cached_price():
    usage = USAGE | {"prompt_tokens_details": {"cached_tokens": 800}}
    # 200 fresh x 2.5 + 800 cached x 1.25 + 200 completion x 10
    assert call_cost_micros(PRICES, "gpt-4o", usage, cache_hit=False) == 500 + 1_000 + 2_000


def test_a_model_without_a_cached_price_bills_cached_tokens_at_its_prompt_price():
    assert call_cost_micros(PRICES, "uncached", USAGE, cache_hit=True) == 3_600


def test_fractions_of_a_micro_usd_round_half_up_and_missing_counts_are_zero():
    assert call_cost_micros(PRICES, "gpt-4o-mini", {"prompt_tokens": 10}, cache_hit=False) == 2
    assert call_cost_micros(PRICES, "gpt-4o", {}, cache_hit=False) == 0


def test_the_default_table_prices_every_model_and_cache_hits_at_a_tenth():
    assert call_cost_micros(DEFAULT_PRICES, "anything", USAGE, cache_hit=False) == 1_200
    assert call_cost_micros(DEFAULT_PRICES, "anything", USAGE, cache_hit=True) == 120


def test_the_planner_reads_its_price_table_from_the_environment(monkeypatch):
    table = {"*": {"prompt": 1, "completion": 1}, "big": {"prompt": 5, "completion": 20}}
    monkeypatch.setenv("AGENTDECK_PLANNER_MODEL_PRICES", json.dumps(table))
    prices = PlannerSettings().model_prices
    assert call_cost_micros(prices, "big", USAGE, cache_hit=False) == 5_000 + 4_000


def test_a_price_table_without_a_default_entry_stops_the_planner(monkeypatch):
    monkeypatch.setenv("AGENTDECK_PLANNER_MODEL_PRICES", '{"big": {"prompt": 5, "completion": 20}}')
    with pytest.raises(ValidationError, match="'\\*' entry"):
        PlannerSettings()
