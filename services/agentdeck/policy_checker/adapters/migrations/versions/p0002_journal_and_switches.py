"""The decision journal, hold references, run spend and kill switches, in tables of their own.

They used to be rows of the shared ``service_state`` table (service
``policy-checker``, keys ``decision:<id>``, ``call:<idempotency key>``,
``approval:<approval id>``, ``spend:<run>`` and ``switch:<scope>:<target>``):
this revision moves them here and deletes them there. Downgrading drops the
tables without moving rows back.

Revision ID: p0002
Revises: p0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision: str | None = "p0001"
branch_labels: str | None = None
depends_on: str | None = None

SERVICE = "policy-checker"
NAME = sa.String(200)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables; move the service's rows of ``service_state`` into them."""
    decisions = op.create_table(
        "policy_decisions",
        sa.Column("decision_id", NAME, nullable=False),
        sa.Column("decided_at", WHEN, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_policy_decisions"),
    )
    refs = op.create_table(
        "policy_hold_refs",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", NAME, nullable=False),
        sa.Column("reservation_id", NAME, nullable=False),
        sa.Column("scope", NAME, nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("run_id", NAME, nullable=True),
        sa.Column("idempotency_key", NAME, nullable=False),
        sa.Column("approval_id", NAME, nullable=True),
        sa.Column("stored_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_policy_hold_refs"),
        sa.CheckConstraint("kind IN ('call', 'approval')", name="kind"),
    )
    spend = op.create_table(
        "policy_run_spend",
        sa.Column("run_id", NAME, nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_policy_run_spend"),
    )
    switches = op.create_table(
        "policy_switches",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", NAME, nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("scope", "target", name="pk_policy_switches"),
        sa.CheckConstraint("scope IN ('GLOBAL', 'TENANT', 'AGENT', 'TOOL')", name="scope"),
    )
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("service_state"):
        return
    bag = sa.table(
        "service_state",
        sa.column("service", sa.String),
        sa.column("key", sa.String),
        sa.column("state", sa.Text),
        sa.column("updated_at", WHEN),
    )
    ours = bag.c.service == SERVICE
    found = bind.execute(sa.select(bag.c.key, bag.c.state, bag.c.updated_at).where(ours)).all()
    moved: dict[sa.TableClause, list[dict[str, Any]]] = {
        decisions: [],
        refs: [],
        spend: [],
        switches: [],
    }
    keys: list[str] = []
    for key, text, stored_at in found:
        kind, _, rest = key.partition(":")
        state, at = json.loads(text), _utc(stored_at or datetime.now(UTC))
        if kind == "decision":
            row = {"decision_id": rest, "decided_at": _utc(state["decided_at"]), "record": text}
            moved[decisions].append(row)
        elif kind in {"call", "approval"}:
            moved[refs].append(_ref(kind, rest, state, at))
        elif kind == "spend":
            row = {"run_id": rest, "spent_micros": state.get("spent_micros", 0), "updated_at": at}
            moved[spend].append(row)
        elif kind == "switch":
            moved[switches].append(_switch(state, at))
        else:
            continue  # not one of the policy-checker's kinds: left where it is
        keys.append(key)
    for table, rows in moved.items():
        if rows:
            op.bulk_insert(table, rows)
    for start in range(0, len(keys), 500):
        bind.execute(sa.delete(bag).where(ours, bag.c.key.in_(keys[start : start + 500])))


def _utc(at: datetime | str) -> datetime:
    """An instant in UTC, as the service's ``UtcDateTime`` columns keep it.

    Text is ISO 8601 from the JSON; a naive time is UTC (SQLite reads it back so).
    """
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _ref(kind: str, key: str, state: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "reservation_id": state["reservation_id"],
        "scope": state["scope"],
        "amount_micros": state["amount_micros"],
        "run_id": state.get("run_id"),
        "idempotency_key": state["idempotency_key"],
        "approval_id": state.get("approval_id"),
        "stored_at": at,
    }


def _switch(state: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "scope": state["scope"],
        "target": state["target"],
        "engaged": bool(state["engaged"]),
        "set_by": state["set_by"],
        "reason": state["reason"],
        "set_at": _utc(state["set_at"]),
        "updated_at": at,
    }


def downgrade() -> None:
    """Drop the four tables (their rows do not go back to ``service_state``)."""
    op.drop_table("policy_switches")
    op.drop_table("policy_run_spend")
    op.drop_table("policy_hold_refs")
    op.drop_table("policy_decisions")
