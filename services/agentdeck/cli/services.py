"""All five services in one process on one embedded stack; they still talk only via Kafka."""

from __future__ import annotations

from pydantic import SecretStr

from agentdeck.cli.stack import Stack
from agentdeck.contracts import Codec, default_codec
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.demo.tools import demo_registry
from agentdeck.embedded_stack.identities import embedded_approvers, embedded_registry
from agentdeck.embedded_stack.keys import DemoKeys
from agentdeck.privacy import sealing_codec
from agentdeck.runtime import ServiceRunner
from agentdeck.settings import PrivacySettings, TrustSettings
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import Store

__all__ = ["compose", "embedded_codec"]


def embedded_trust(keys: DemoKeys) -> TrustSettings:
    """Exactly the stack's own writers.

    Built without reading the environment: pydantic-settings would merge the keys of
    an ``AGENTDECK_WRITER_KEYS`` there into the ones given, and trust them too.
    """
    return TrustSettings.model_construct(writer_keys=keys.writers())


def embedded_codec(keys: DemoKeys, store: Store) -> Codec:
    """The codec every service of the stack shares: it seals personal data under the stack's key."""
    privacy = PrivacySettings.model_construct(
        pii_master_key=SecretStr(keys.pii_master), pii_key_cache_s=30.0
    )
    return sealing_codec(default_codec(), privacy, store)


def compose(
    stack: Stack, keys: DemoKeys, *, llm_base_url: str = "", approval_port: int = 0
) -> list[ServiceRunner]:
    """Build planner, policy-checker, approval, tool-executor and telemetry on ``stack``."""
    from agentdeck.approval.main import build as approval  # noqa: PLC0415 -- heavy imports
    from agentdeck.approval.settings import ApprovalSettings  # noqa: PLC0415
    from agentdeck.planner.main import build as planner  # noqa: PLC0415
    from agentdeck.planner.settings import PlannerSettings  # noqa: PLC0415
    from agentdeck.policy_checker.main import build as policy  # noqa: PLC0415
    from agentdeck.policy_checker.settings import PolicyCheckerSettings  # noqa: PLC0415
    from agentdeck.telemetry.main import build as telemetry  # noqa: PLC0415
    from agentdeck.telemetry.settings import TelemetrySettings  # noqa: PLC0415
    from agentdeck.tool_executor.main import build as executor  # noqa: PLC0415
    from agentdeck.tool_executor.settings import ToolExecutorSettings  # noqa: PLC0415

    store, hot, kafka = stack.store, stack.hot, stack.kafka
    codec = embedded_codec(keys, store)
    store_settings = stack.store_settings.model_copy(update={"data_dir": str(stack.data_dir)})
    desk = SqlDesk(store)
    desk.seed()
    # The executor's per-call credential key lives in this process only (a credential
    # outlives no call, so nothing needs it after a restart); the desk gets the public half.
    credential_key = generate_private_key()
    credential_public = {"executor-1": Signer("executor-1", credential_key).public_key_b64()}
    tools = demo_registry(desk, credential_public_keys=credential_public)
    prefix = kafka.topic_prefix
    trust = embedded_trust(keys)
    return [
        planner(
            PlannerSettings(
                kafka=kafka,
                store=store_settings,
                consumer_group=f"{prefix}-planner",
                trust=trust,
                llm_base_url=llm_base_url,
                signing_key=SecretStr(keys.planner_private),
            ),
            codec=codec,
            store=store,
            hot=hot,
            tools=tools,
            producers=embedded_registry(keys),
        ),
        policy(
            PolicyCheckerSettings(
                kafka=kafka,
                store=store_settings,
                consumer_group=f"{prefix}-policy",
                trust=trust,
                signing_key=SecretStr(keys.policy_private),
            ),
            codec=codec,
            store=store,
            hot=hot,
            tools=tools,
        ),
        approval(
            ApprovalSettings(
                kafka=kafka,
                store=store_settings,
                consumer_group=f"{prefix}-approval",
                trust=trust,
                http_port=approval_port,
                signing_key=SecretStr(keys.approval_private),
                approvers=embedded_approvers(keys),
                allow_static_tokens=True,
                policy_verify_keys={"policy-1": keys.policy_public()},
            ),
            codec=codec,
            store=store,
            hot=hot,
        ),
        executor(
            ToolExecutorSettings(
                kafka=kafka,
                store=store_settings,
                consumer_group=f"{prefix}-executor",
                trust=trust,
                policy_verify_key=SecretStr(keys.policy_public()),
                approval_verify_key=SecretStr(keys.approval_public()),
                credential_signing_key=SecretStr(credential_key),
            ),
            codec=codec,
            store=store,
            hot=hot,
            tools=tools,
        ),
        telemetry(
            TelemetrySettings(
                kafka=kafka,
                store=store_settings,
                consumer_group=f"{prefix}-telemetry",
                trust=trust,
                checkpoint_signing_key=SecretStr(keys.checkpoint_private),
            ),
            codec=codec,
            store=store,
            hot=hot,
        ),
    ]
