"""Composition root of the policy-checker."""

from __future__ import annotations

from datetime import datetime, timedelta

from agentdeck import demo
from agentdeck.contracts import Codec
from agentdeck.contracts.models import ToolCallRequested
from agentdeck.hotstate import HotState
from agentdeck.kafka import Topic
from agentdeck.policy_checker.adapters.catalog import ToolCatalog
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.adapters.counters import CallCounter
from agentdeck.policy_checker.adapters.journal import Journal
from agentdeck.policy_checker.adapters.shadow import Shadow
from agentdeck.policy_checker.adapters.tables import SCHEMA
from agentdeck.policy_checker.core import CHARGING, Ttls, tenant_scope
from agentdeck.policy_checker.core.budget import SETTLING
from agentdeck.policy_checker.handlers import ControlHandler, DecisionHandler, SettlementHandler
from agentdeck.policy_checker.settings import PolicyCheckerSettings
from agentdeck.policy_checker.sweeper import HoldSweeper
from agentdeck.privacy import sealing_codec
from agentdeck.runtime import (
    Clock,
    ServiceRunner,
    Subscription,
    journaled,
    serve,
    transactional,
    utc_now,
)
from agentdeck.signing import Signer, required_signer
from agentdeck.store import Store
from agentdeck.tools import ToolRegistry, load_catalog

__all__ = ["DEMO_BUNDLE", "build", "ensure_budgets", "main", "signer_of"]

DEMO_BUNDLE = demo.POLICY
"""The support-desk demo bundle, decided by when no bundle is configured."""


def signer_of(settings: PolicyCheckerSettings) -> Signer:
    """The decision signing key; a missing key is a configuration error."""
    key = settings.signing_key.get_secret_value() if settings.signing_key else None
    return required_signer(settings.signing_key_id, key, setting="AGENTDECK_POLICY_SIGNING_KEY")


def ensure_budgets(store: Store, budgets_micros: dict[str, int], *, now: datetime) -> None:
    """Create the configured tenant budgets that do not exist yet; existing ones stay."""
    journal = Journal()
    with store.transaction() as conn:
        for tenant, micros in budgets_micros.items():
            journal.ensure_budget(conn, tenant_scope(tenant), micros, now=now)


def build(
    settings: PolicyCheckerSettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    tools: ToolRegistry,
    clock: Clock = utc_now,
) -> ServiceRunner:
    """The policy-checker: decisions and model-call charges, budget settlement, kill switches.

    Raises:
        ConfigError: The bundle (or the shadow bundle) is invalid, or no signing key is set.
    """
    codec = sealing_codec(codec, settings.privacy, store)
    engine = load_bundle(settings.bundle_dir or DEMO_BUNDLE)
    shadow = None
    if settings.shadow_bundle_dir:
        shadow = Shadow(load_bundle(settings.shadow_bundle_dir), hot)
    key = signer_of(settings)
    ensure_budgets(store, settings.tenant_budgets_micros, now=clock())
    group = settings.consumer_group
    identity = ServiceRunner.identity_of(settings)
    deciding = DecisionHandler(
        engine=engine,
        catalog=ToolCatalog(tools),
        counter=CallCounter(hot),
        key=key,
        identity=identity,
        clock=clock,
        ttls=Ttls(
            timedelta(seconds=settings.allow_ttl_s), timedelta(seconds=settings.approval_ttl_s)
        ),
        shadow=shadow,
    )
    decide = journaled(deciding, store=store, consumer=f"{group}.decide")
    settle = transactional(
        SettlementHandler(clock=clock),
        store=store,
        consumer=f"{group}.settle",
    )
    control = transactional(
        ControlHandler(clock=clock),
        store=store,
        consumer=f"{group}.control",
    )
    sweeper = HoldSweeper(
        store,
        clock=clock,
        stale_after=timedelta(seconds=settings.stale_hold_after_s),
        interval_s=settings.hold_sweep_interval_s,
    )
    return ServiceRunner(
        settings,
        codec,
        [
            # Model calls are charged by the loop that holds budget, in its transaction.
            Subscription(
                "decide",
                (Topic.TOOL_CALLS, Topic.RUNS),
                decide,
                events=(ToolCallRequested, *CHARGING),
            ),
            Subscription(
                "settle",
                (Topic.TOOL_RESULTS, Topic.APPROVALS),
                settle,
                background=True,
                events=SETTLING,
            ),
            Subscription("control", (Topic.CONTROL,), control, background=True),
        ],
        tasks=[("holds", sweeper.run)],
        checks={"store": store.ping},
        signer=key,
        store=store,
        clock=clock,
    )


def main() -> None:
    """Run the policy-checker alone, configured from the environment."""
    serve(
        "policy-checker",
        PolicyCheckerSettings,
        lambda settings, r: build(
            settings,
            codec=r.codec,
            store=r.store,
            hot=r.hot,
            tools=load_catalog(settings.tool_packages),
        ),
        check=signer_of,
        schema=SCHEMA,
    )


if __name__ == "__main__":
    main()
