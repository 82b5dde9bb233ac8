"""Composition root of the planner."""

from __future__ import annotations

from pathlib import Path

from agentdeck.contracts import Codec, default_codec
from agentdeck.hotstate import HotState, open_hot_state
from agentdeck.kafka import Topic
from agentdeck.planner.adapters.playbooks import YamlPlaybooks, bundled_playbooks
from agentdeck.planner.core.context import ToolInfo
from agentdeck.planner.handlers import PlannerHandler
from agentdeck.planner.settings import PlannerSettings
from agentdeck.runtime import Clock, ServiceRunner, Subscription, utc_now
from agentdeck.store import Store
from agentdeck.tools import ToolRegistry

__all__ = ["build", "main"]


def tool_infos(registry: ToolRegistry) -> dict[str, ToolInfo]:
    """What the planner needs of each tool contract."""
    return {
        t.contract.name: ToolInfo(
            t.contract.version, t.contract.side_effect, t.contract.max_cost_micros
        )
        for t in registry
    }


def build(
    settings: PlannerSettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    tools: ToolRegistry,
    clock: Clock = utc_now,
) -> ServiceRunner:
    """The planner: one loop over goals, decisions, approvals and tool results."""
    del hot  # the LLM response cache will use it
    playbooks = (
        YamlPlaybooks(Path(settings.playbook_dir)) if settings.playbook_dir else bundled_playbooks()
    )
    identity_service = settings.service_name
    handler = PlannerHandler(
        store=store,
        playbooks=playbooks,
        tools=tool_infos(tools),
        identity=ServiceRunner.identity_of(settings),
        clock=clock,
        consumer=f"{identity_service}.runs",
    )
    topics = (Topic.GOALS, Topic.DECISIONS, Topic.APPROVALS, Topic.TOOL_RESULTS)
    return ServiceRunner(settings, codec, [Subscription("runs", topics, handler)])


def main() -> None:
    """Run the planner alone, configured from the environment."""
    from agentdeck.demo.tools import demo_registry  # noqa: PLC0415

    settings = PlannerSettings()
    store = Store.open(settings.store.database_url, data_dir=settings.store.data_dir)
    hot = open_hot_state(settings.store.redis_url, prefix=settings.kafka.topic_prefix)
    build(
        settings, codec=default_codec(), store=store, hot=hot, tools=demo_registry()
    ).run_until_signalled()


if __name__ == "__main__":
    main()
