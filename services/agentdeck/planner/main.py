"""Composition root of the planner."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentdeck.breaker import BreakerConfig
from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts import Codec
from agentdeck.contracts.models import AdmissionSet, GoalSubmitted
from agentdeck.errors import ConfigError
from agentdeck.hotstate import HotState
from agentdeck.kafka import EventProducer, Topic
from agentdeck.planner.adapters.endpoints import Endpoint, Endpoints
from agentdeck.planner.adapters.model import OpenAiCompatible
from agentdeck.planner.adapters.model_calls import ModelCalls
from agentdeck.planner.adapters.playbooks import YamlPlaybooks, bundled_playbooks
from agentdeck.planner.adapters.producers import ProducerRegistry
from agentdeck.planner.adapters.runs import RunStates
from agentdeck.planner.adapters.tables import SCHEMA
from agentdeck.planner.core import RELEVANT
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.core.model_retry import ModelRetry
from agentdeck.planner.handlers import PlannerHandler
from agentdeck.planner.redriver import Redriver
from agentdeck.planner.settings import PlannerSettings
from agentdeck.planner.turns import ModelTurns
from agentdeck.privacy import Sealer, sealing_codec
from agentdeck.runtime import (
    Clock,
    ServiceRunner,
    Subscription,
    publisher_for,
    serve,
    transactional,
    utc_now,
)
from agentdeck.signing import Signer, required_signer
from agentdeck.store import Store
from agentdeck.tools import ToolContract, ToolRegistry, load_catalog

__all__ = ["build", "main", "producer_registry", "signer_of"]

_log = logging.getLogger(__name__)


def tool_infos(registry: ToolRegistry) -> dict[str, ToolInfo]:
    """What the planner needs of each tool contract."""
    return {
        t.contract.name: ToolInfo(
            t.contract.version,
            t.contract.side_effect,
            t.contract.max_cost_micros,
            t.contract.description,
            t.contract.json_schema(),
            compensation=t.contract.compensation,
            compensation_args=_compensation_args(t.contract),
        )
        for t in registry
    }


def _compensation_args(
    contract: ToolContract,
) -> Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]] | None:
    """The contract's typed mapping, over JSON: a completed call -> its compensation's arguments."""
    derive = contract.compensation_args
    if derive is None:
        return None

    def arguments(args: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, Any]:
        typed_args = contract.input_model.model_validate(args)
        typed_output = contract.output_model.model_validate(output)
        return derive(typed_args, typed_output).model_dump(mode="json")

    return arguments


def tool_schemas(registry: ToolRegistry) -> list[dict[str, Any]]:
    """The tools as chat-completions function definitions."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.contract.name,
                "description": t.contract.description,
                "parameters": t.contract.json_schema(),
            },
        }
        for t in registry
    ]


def model_router(settings: PlannerSettings) -> Callable[[GoalSubmitted], str]:
    """Model routing: long goals go to the large model, the rest to the small one."""

    def model_for(goal: GoalSubmitted) -> str:
        size = len(goal.goal) + len(goal.inputs_json)
        large = size > settings.llm_large_above_chars
        return settings.llm_model_large if large else settings.llm_model_small

    return model_for


def _turns(
    settings: PlannerSettings,
    store: Store,
    hot: HotState,
    registry: ToolRegistry,
    *,
    codec: Codec,
    sealer: Sealer | None,
    clock: Clock,
) -> ModelTurns | None:
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    port = OpenAiCompatible(settings.llm_base_url, api_key=key, timeout_s=settings.llm_timeout_s)
    fallback = None
    if settings.llm_fallback_model:
        other = settings.llm_fallback_base_url
        fallback_port = (
            OpenAiCompatible(other, api_key=key, timeout_s=settings.llm_timeout_s)
            if other
            else port
        )
        fallback = Endpoint("fallback", fallback_port, settings.llm_fallback_model)
    breaker = BreakerConfig(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s)
    endpoints = Endpoints(Endpoint("primary", port), fallback, breaker=breaker, clock=clock)
    claims = ClaimCheck(
        store.payloads, above_bytes=settings.store.claim_check_above_bytes, cipher=sealer
    )
    calls = ModelCalls(
        store, hot, port, cache_ttl_s=settings.llm_cache_ttl_s, claims=claims, cipher=sealer
    )
    publisher = publisher_for(
        settings, codec, store, name="model", clock=clock, signer=signer_of(settings)
    )
    return ModelTurns(
        calls,
        endpoints,
        tool_schemas(registry),
        retry=ModelRetry(
            settings.llm_max_attempts,
            settings.llm_backoff_s,
            settings.llm_max_backoff_s,
            settings.llm_jitter,
        ),
        prices=settings.model_prices,
        identity=ServiceRunner.identity_of(settings),
        publisher=publisher,
        clock=clock,
        workers=settings.llm_workers,
    )


def producer_registry(settings: PlannerSettings) -> ProducerRegistry:
    """The registry the settings give (a file, or inline); without one the planner won't start."""
    if settings.producers and settings.producer_registry:
        raise ConfigError(
            "set AGENTDECK_PLANNER_PRODUCERS or AGENTDECK_PLANNER_PRODUCER_REGISTRY, not both"
        )
    if settings.producers:
        registry = ProducerRegistry.parse(settings.producers, "AGENTDECK_PLANNER_PRODUCERS")
    elif settings.producer_registry:
        registry = ProducerRegistry.load(Path(settings.producer_registry))
    else:
        raise ConfigError(
            "AGENTDECK_PLANNER_PRODUCER_REGISTRY is not set: the planner starts runs only for"
            " goals signed by a registered producer (see docs/security.md)"
        )
    _log.info("producer registry %s: %d producers", registry.label, len(registry.producers))
    return registry


def signer_of(settings: PlannerSettings) -> Signer:
    """The key the planner signs its requests and run outcomes with; required."""
    key = settings.signing_key.get_secret_value() if settings.signing_key else None
    return required_signer(settings.signing_key_id, key, setting="AGENTDECK_PLANNER_SIGNING_KEY")


def build(
    settings: PlannerSettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    tools: ToolRegistry,
    clock: Clock = utc_now,
    producers: ProducerRegistry | None = None,
) -> ServiceRunner:
    """The planner: one loop over goals, decisions, approvals and tool results.

    ``producers`` is the producer registry; None loads the one the settings name.
    """
    codec = sealing_codec(codec, settings.privacy, store)
    sealer = codec.cipher if isinstance(codec.cipher, Sealer) else None
    registry = producers if producers is not None else producer_registry(settings)
    playbooks = (
        YamlPlaybooks(Path(settings.playbook_dir)) if settings.playbook_dir else bundled_playbooks()
    )
    identity_service = settings.service_name
    redrive_after = timedelta(seconds=settings.redrive_after_s)
    turns = _turns(settings, store, hot, tools, codec=codec, sealer=sealer, clock=clock)
    planner = PlannerHandler(
        store=store,
        producers=registry.authenticator(),
        playbooks=playbooks,
        tools=tool_infos(tools),
        identity=ServiceRunner.identity_of(settings),
        clock=clock,
        model_for=model_router(settings) if settings.llm_base_url else None,
        turns=turns,
        bind_subjects=sealer.keys.bind_many if sealer is not None else None,
        sealer=sealer,
        redrive_after=redrive_after,
    )
    handler = transactional(planner, store=store, consumer=f"{identity_service}.runs")
    signer = signer_of(settings)
    redriver = Redriver(
        store,
        RunStates(store, cipher=sealer),
        EventProducer(
            settings.kafka, codec, client_id=f"{identity_service}-redrive", signer=signer
        ),
        clock=clock,
        identity=ServiceRunner.identity_of(settings),
        redrive_after=redrive_after,
        interval_s=settings.redrive_interval_s,
        ask_model=None if turns is None else turns.ask,
    )
    # The control topic too: an operator's RUN switch cancels a run even when nothing
    # of it is in flight (a run waiting for an approval hears from nobody else), and
    # an operator's pause holds new goals until the scope is resumed; and the runs
    # topic when a model plans, for the outcomes of its calls (made off this loop).
    topics = (Topic.GOALS, Topic.DECISIONS, Topic.APPROVALS, Topic.TOOL_RESULTS, Topic.CONTROL)
    return ServiceRunner(
        settings,
        codec,
        [
            Subscription(
                "runs",
                topics if turns is None else (*topics, Topic.RUNS),
                handler,
                events=(*RELEVANT, AdmissionSet),
            )
        ],
        tasks=[("redrive", redriver.run), *([] if turns is None else [("model", turns.run)])],
        checks={"store": store.ping},
        signer=signer,
        store=store,
        clock=clock,
    )


def main() -> None:
    """Run the planner alone, configured from the environment."""
    serve(
        "planner",
        PlannerSettings,
        lambda settings, r: build(
            settings,
            codec=r.codec,
            store=r.store,
            hot=r.hot,
            tools=load_catalog(settings.tool_packages),
        ),
        check=lambda settings: (signer_of(settings), producer_registry(settings)),
        schema=SCHEMA,
    )


if __name__ == "__main__":
    main()
