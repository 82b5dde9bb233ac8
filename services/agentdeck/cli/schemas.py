"""The tables of every service, the demo desk and the operators, for the commands that
run or read the whole stack."""

from __future__ import annotations

from agentdeck.approval.adapters.tables import SCHEMA as APPROVAL
from agentdeck.cli.tables import SCHEMA as OPERATIONS
from agentdeck.demo.tables import SCHEMA as DEMO_DESK
from agentdeck.planner.adapters.tables import SCHEMA as PLANNER
from agentdeck.policy_checker.adapters.tables import SCHEMA as POLICY_CHECKER
from agentdeck.store.sql import Schema
from agentdeck.telemetry.adapters.tables import SCHEMA as TELEMETRY
from agentdeck.tool_executor.adapters.tables import SCHEMA as TOOL_EXECUTOR

__all__ = ["SERVICE_SCHEMAS"]

SERVICE_SCHEMAS: tuple[Schema, ...] = (
    PLANNER,
    POLICY_CHECKER,
    TOOL_EXECUTOR,
    APPROVAL,
    TELEMETRY,
    DEMO_DESK,
    OPERATIONS,
)
"""Migrated with the store's plumbing wherever one process runs every service."""
