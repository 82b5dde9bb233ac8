"""What a model call costs: per-model prices for prompt, completion and cached tokens.

Prices are USD per million tokens, so tokens times price is micro-USD. The
table is keyed by model name; a key may hold ``*`` wildcards (``gpt-4o*``) and
the longest key that matches wins, so an exact name beats a family and every
table has a ``*`` entry for models it does not name.

What is billed, as the providers bill it:

- a fresh answer: prompt tokens at the prompt price, except the prompt tokens
  the provider served from its prompt cache
  (``usage.prompt_tokens_details.cached_tokens``), which are at the cached
  price; completion tokens at the completion price;
- an answer from the planner's response cache (nothing was sent to the
  provider): every token of it, prompt and completion, at the cached price.

A model's ``cached`` price defaults to its prompt price: an unpriced cache is
never cheaper than a price someone set.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ANY_MODEL",
    "DEFAULT_PRICES",
    "ModelPrice",
    "call_cost_micros",
    "check_prices",
    "price_of",
]

ANY_MODEL = "*"


class ModelPrice(BaseModel):
    """One model's prices, USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: float = Field(ge=0, description="Prompt (input) tokens sent fresh.")
    completion: float = Field(ge=0, description="Completion (output) tokens.")
    cached: float | None = Field(
        default=None,
        ge=0,
        description="Tokens served from a cache (the provider's prompt cache, or every token"
        " of an answer from the planner's response cache); None: the prompt price.",
    )

    @property
    def cached_price(self) -> float:
        """The price of a cached token."""
        return self.prompt if self.cached is None else self.cached


DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    ANY_MODEL: ModelPrice(prompt=1.0, completion=1.0, cached=0.1)
}
"""One price for every model: $1 per million tokens, a tenth of it for cached tokens."""


def check_prices(prices: Mapping[str, ModelPrice]) -> Mapping[str, ModelPrice]:
    """``prices``, if they price every model (they have a ``*`` entry).

    Raises:
        ValueError: No ``*`` entry.
    """
    if ANY_MODEL not in prices:
        raise ValueError(f"the price table needs a {ANY_MODEL!r} entry for models it does not name")
    return prices


def price_of(prices: Mapping[str, ModelPrice], model: str) -> ModelPrice:
    """The price of ``model``: its own entry, else the longest matching pattern, else ``*``."""
    if model in prices:
        return prices[model]
    matching = [key for key in prices if fnmatchcase(model, key)]
    return prices[max(matching, key=len)] if matching else prices[ANY_MODEL]


def call_cost_micros(
    prices: Mapping[str, ModelPrice], model: str, usage: Mapping[str, Any], *, cache_hit: bool
) -> int:
    """Micro-USD one call costs, from the chat-completions ``usage`` it reported.

    Args:
        prices: The price table (see :func:`check_prices`).
        model: The model that answered.
        usage: The answer's ``usage`` object (``prompt_tokens``, ``completion_tokens``,
            ``prompt_tokens_details.cached_tokens``); missing counts are 0.
        cache_hit: The planner's response cache answered, not the provider.
    """
    price = price_of(prices, model)
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    if cache_hit:
        usd = (prompt + completion) * _dec(price.cached_price)
    else:
        details = usage.get("prompt_tokens_details")
        in_cache = _count(details, "cached_tokens") if isinstance(details, Mapping) else 0
        cached = min(prompt, in_cache)
        usd = (
            (prompt - cached) * _dec(price.prompt)
            + cached * _dec(price.cached_price)
            + completion * _dec(price.completion)
        )
    return int(usd.to_integral_value(rounding=ROUND_HALF_UP))


def _count(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name)
    return max(int(value), 0) if isinstance(value, int | float) else 0


def _dec(price: float) -> Decimal:
    # Through str: 0.15 is 0.15, not the nearest binary fraction.
    return Decimal(str(price))
