"""The composition root: what it refuses at start, and the budgets it creates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from agentdeck.contracts import Codec
from agentdeck.demo.tools import demo_registry
from agentdeck.errors import ConfigError
from agentdeck.hotstate import InProcessHotState
from agentdeck.policy_checker.adapters.budgets import BudgetsRepository
from agentdeck.policy_checker.main import build, ensure_budgets
from agentdeck.policy_checker.settings import PolicyCheckerSettings
from agentdeck.signing import generate_private_key
from agentdeck.store import Store
from testkit.kafka import NOW

from ._support import unique

BUDGETS = BudgetsRepository()


def _build(engine: Engine, codec: Codec, **settings: object) -> None:
    build(
        PolicyCheckerSettings(**settings),  # type: ignore[arg-type]
        codec=codec,
        store=Store(engine),
        hot=InProcessHotState(),
        tools=demo_registry(),
    )


def test_a_bundle_that_does_not_validate_stops_the_service_at_start(
    engine: Engine, codec: Codec, tmp_path: Path
) -> None:
    (tmp_path / "manifest.yaml").write_text("name: broken\nversion: '1'\n")
    (tmp_path / "schema.cedarschema").write_text("entity Tool;")
    (tmp_path / "p.cedar").write_text('@id("x")\npermit (principal, action, resource) when { 1 };')
    key = SecretStr(generate_private_key())
    with pytest.raises(ConfigError, match="does not validate"):
        _build(engine, codec, bundle_dir=str(tmp_path), signing_key=key)
    with pytest.raises(ConfigError, match="does not validate"):
        _build(engine, codec, shadow_bundle_dir=str(tmp_path), signing_key=key)


def test_the_service_does_not_start_without_a_signing_key(engine: Engine, codec: Codec) -> None:
    with pytest.raises(ConfigError, match="AGENTDECK_POLICY_SIGNING_KEY"):
        _build(engine, codec)


def test_configured_budgets_are_created_once_and_never_overwritten(engine: Engine) -> None:
    store, tenant = Store(engine), unique("tenant")
    ensure_budgets(store, {tenant: 2_000_000}, now=NOW)
    with store.transaction() as conn:
        BUDGETS.set_limit(conn, f"tenant:{tenant}", Decimal(7), now=NOW)
    ensure_budgets(store, {tenant: 2_000_000}, now=NOW)
    with store.transaction(read_only=True) as conn:
        budget = BUDGETS.get(conn, f"tenant:{tenant}")
    assert budget is not None
    assert budget.limit == Decimal(7)
