"""Composition root of the tool-executor."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from agentdeck.breaker import BreakerConfig
from agentdeck.claimcheck import ClaimCheck
from agentdeck.contracts import Codec
from agentdeck.controls import SwitchView
from agentdeck.errors import ConfigError
from agentdeck.hotstate import HotState
from agentdeck.kafka import BatchHandler, Topic
from agentdeck.privacy import Sealer, sealing_codec
from agentdeck.runtime import (
    BackgroundTask,
    Clock,
    ServiceRunner,
    Subscription,
    follow_switches,
    serve,
    transactional,
    utc_now,
)
from agentdeck.signing import Signer, Verifier
from agentdeck.store import Store
from agentdeck.tool_executor.adapters.calls import CallRunner, Outputs
from agentdeck.tool_executor.adapters.credentials import CallCredentials
from agentdeck.tool_executor.adapters.guards import ToolGuards
from agentdeck.tool_executor.adapters.invoke import Invoker
from agentdeck.tool_executor.adapters.ledger import CallLedger
from agentdeck.tool_executor.adapters.running import RunningCalls
from agentdeck.tool_executor.adapters.sandbox import (
    SandboxLimits,
    SubprocessSandbox,
    importable,
    isolation_report,
)
from agentdeck.tool_executor.adapters.tables import SCHEMA
from agentdeck.tool_executor.core.plan import Trust
from agentdeck.tool_executor.core.screening import Rules
from agentdeck.tool_executor.handlers import RELEVANT, ExecutorHandler
from agentdeck.tool_executor.settings import ToolExecutorSettings
from agentdeck.tools import ToolRegistry, load_catalog, load_registry

_log = logging.getLogger(__name__)

__all__ = [
    "announce_isolation",
    "build",
    "build_handler",
    "configured_registry",
    "credentials_for",
    "isolation_report",
    "load_registry",
    "main",
    "sandbox_for",
]


def _ring(key_id: str, public_key: str | None) -> Verifier:
    return Verifier({key_id: public_key} if public_key else {})


def _trust(settings: ToolExecutorSettings, tools: ToolRegistry, clock: Clock) -> Trust:
    policy = settings.policy_verify_key
    if policy is None or not policy.get_secret_value():
        raise ConfigError("AGENTDECK_EXECUTOR_POLICY_VERIFY_KEY is required: no key, no execution")
    approval = settings.approval_verify_key
    return Trust(
        decisions=_ring(settings.policy_key_id, policy.get_secret_value()),
        approvals=_ring(
            settings.approval_key_id, approval.get_secret_value() if approval else None
        ),
        tools=tools,
        now=clock(),
        ignore_foreign_tools=settings.ignore_foreign_tools,
    )


def credentials_for(settings: ToolExecutorSettings) -> CallCredentials:
    """What mints per-call credentials: the configured key, or none (tools needing one refuse)."""
    key = settings.credential_signing_key
    secret = key.get_secret_value() if key is not None else ""
    signer = Signer(settings.credential_key_id, secret) if secret else None
    return CallCredentials(signer, issuer=settings.service_name)


def configured_registry(settings: ToolExecutorSettings, store: Store) -> ToolRegistry:
    """The tools of ``settings.tool_packages`` (the demo catalog if none), over ``store``.

    Packages may ask for ``credential_public_keys``: the key ids and public keys
    their in-process backends verify per-call credentials with.
    """
    return load_catalog(
        settings.tool_packages,
        store=store,
        http_allow_hosts=settings.http_allow_hosts,
        credential_public_keys=credentials_for(settings).public_keys(),
    )


def sandbox_for(settings: ToolExecutorSettings) -> SubprocessSandbox:
    """The sandbox sandboxed tools run in, limited as ``settings`` say."""
    limits = SandboxLimits(
        cpu_s=settings.sandbox_cpu_s,
        memory_mb=settings.sandbox_memory_mb,
        max_output_bytes=settings.max_output_bytes,
    )
    return SubprocessSandbox(limits)


def announce_isolation(sandbox: SubprocessSandbox, tools: ToolRegistry) -> BackgroundTask:
    """A start task: one log line saying what isolation ``tools``' sandboxed ones get.

    A task rather than a line in ``build``: the runner sets up logging before it
    starts its tasks. ERROR when there is none (those tools will refuse to run).
    """
    sandboxed = [tool.contract.name for tool in tools if tool.contract.sandboxed]

    def announce(stop: threading.Event) -> None:
        if sandboxed:
            isolation = sandbox.isolation
            level = logging.INFO if isolation.available else logging.ERROR
            _log.log(level, "%s (tools: %s)", isolation.describe(), ", ".join(sandboxed))
        stop.wait()  # a task that returns would count as a dead service

    return announce


def build_handler(
    settings: ToolExecutorSettings,
    *,
    store: Store,
    hot: HotState,
    tools: ToolRegistry,
    clock: Clock,
    pool: ThreadPoolExecutor,
    switches: SwitchView,
    sandbox: SubprocessSandbox | None = None,
    sealer: Sealer | None = None,
    running: RunningCalls | None = None,
) -> BatchHandler:
    """The batch handler, wired: verification keys, guards, sandbox, ledger.

    Args:
        switches: The kill switches, checked right before each call runs.
        sandbox: Where sandboxed tools run; None: one limited as ``settings`` say.
        sealer: Seals the outputs and parked decisions the ledger and the payload store keep.
        running: Signals running calls a switch covers; its ``follow`` must run as a
            task (None: calls are checked only as they start).
    """
    for tool in tools:
        if tool.contract.sandboxed:
            importable(tool)
    trust = _trust(settings, tools, clock)
    credentials = credentials_for(settings)
    credentials.check(tools, "AGENTDECK_EXECUTOR_CREDENTIAL_SIGNING_KEY")
    sandbox = sandbox or sandbox_for(settings)
    if any(tool.contract.sandboxed for tool in tools):
        _ = sandbox.isolation  # probed now: a start, not a first call, finds it missing
    outputs = Outputs(
        rules=Rules.of(settings.redact_pii, settings.injection_patterns),
        max_bytes=settings.max_output_bytes,
        producer=ServiceRunner.identity_of(settings),
    )
    claim_above = settings.store.claim_check_above_bytes
    breakers = BreakerConfig(settings.breaker_failures, settings.breaker_cooldown_s)
    ledger = CallLedger(
        store, ClaimCheck(store.payloads, above_bytes=claim_above, cipher=sealer), sealer
    )
    runner = CallRunner(
        ledger=ledger,
        guards=ToolGuards(hot, breakers),
        invoker=Invoker(sandbox),
        tools=tools,
        outputs=outputs,
        clock=clock,
        in_flight_grace_s=settings.in_flight_grace_s,
        credentials=credentials,
        switches=switches,
        running=running,
    )
    handler = ExecutorHandler(
        ledger=ledger,
        runner=runner,
        trust=trust,
        clock=clock,
        pool=pool,
        switches=switches,
        switches_wait_s=settings.switches_wait_s,
    )
    return transactional(handler, store=store, consumer=f"{settings.consumer_group}.calls")


def build(
    settings: ToolExecutorSettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    clock: Clock = utc_now,
    tools: ToolRegistry | None = None,
    switches: SwitchView | None = None,
) -> ServiceRunner:
    """The executor: one loop over decisions and approvals, running ``tools``.

    Args:
        tools: The tools to run; None loads ``settings.tool_packages`` (or the demo).
        switches: The view of the kill switches this process keeps fresh from the
            control topic; None: a new one.
    """
    switches = switches if switches is not None else SwitchView()
    codec = sealing_codec(codec, settings.privacy, store)
    registry = tools if tools is not None else configured_registry(settings, store)
    pool = ThreadPoolExecutor(settings.max_parallel_calls, thread_name_prefix="executor-run")
    sandbox = sandbox_for(settings)
    running = RunningCalls(switches)
    handler = build_handler(
        settings,
        store=store,
        hot=hot,
        tools=registry,
        clock=clock,
        pool=pool,
        switches=switches,
        sandbox=sandbox,
        sealer=codec.cipher if isinstance(codec.cipher, Sealer) else None,
        running=running,
    )

    def close_pool(stop: threading.Event) -> None:
        stop.wait()
        pool.shutdown(wait=False, cancel_futures=True)

    subscription = Subscription(
        "calls", (Topic.DECISIONS, Topic.APPROVALS), handler, events=RELEVANT
    )
    tasks = [
        ("pool", close_pool),
        ("sandbox", announce_isolation(sandbox, registry)),
        ("switches", follow_switches(settings, codec, switches)),
        ("cancels", running.follow),
    ]
    checks = {"store": store.ping, "switches": lambda: switches.caught_up}
    return ServiceRunner(
        settings, codec, [subscription], tasks=tasks, checks=checks, store=store, clock=clock
    )


def main() -> None:
    """Run the executor alone, configured from the environment."""
    serve(
        "tool-executor",
        ToolExecutorSettings,
        lambda settings, r: build(settings, codec=r.codec, store=r.store, hot=r.hot),
        schema=SCHEMA,
    )


if __name__ == "__main__":
    main()
