"""Cases and the outbox get tables of their own, out of the shared ``service_state``.

The approval service kept each case's sealed JSON under ``case:<approval id>``
and each unacknowledged event under ``outbox:<event id>`` (JSON holding the
encoded event in base64) in ``service_state``, service ``approval``. Those
rows move here: cases keep their version and sealed text as they are; outbox
events are stored as the bytes the codec wrote, with the approval they are
about. The moved rows leave ``service_state``; other services' rows stay.

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa
from alembic import op

from agentdeck.store.sql import UtcDateTime

revision = "a0002"
down_revision: str | None = "a0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)
SERVICE = "approval"
CASE = "case:"
OUTBOX = "outbox:"


def upgrade() -> None:
    """Create ``approval_cases`` and ``approval_outbox``; move the service's rows into them."""
    op.create_table(
        "approval_cases",
        sa.Column("approval_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed_case", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name="pk_approval_cases"),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.approval_id"],
            name="fk_approval_cases_approval_id_approvals",
        ),
    )
    op.create_table(
        "approval_outbox",
        sa.Column("event_id", ID, nullable=False),
        sa.Column("approval_id", ID, nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_approval_outbox"),
    )
    if sa.inspect(op.get_bind()).has_table("service_state"):
        _move_cases()
        _move_outbox()


def _state() -> sa.TableClause:
    return sa.table(
        "service_state",
        sa.column("service", sa.String()),
        sa.column("key", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("state", sa.Text()),
        sa.column("updated_at", UtcDateTime()),
    )


def _of_kind(state: sa.TableClause, prefix: str) -> sa.ColumnElement[bool]:
    # substr, not LIKE: SQLite's LIKE ignores case, and '_' would be a wildcard.
    kind = sa.func.substr(state.c.key, 1, len(prefix))
    return sa.and_(state.c.service == SERVICE, kind == prefix)


def _move_cases() -> None:
    """Every case in one INSERT ... SELECT: cases are kept for good, so there may be many."""
    state = _state()
    cases = sa.table(
        "approval_cases",
        sa.column("approval_id"),
        sa.column("version"),
        sa.column("sealed_case"),
        sa.column("updated_at"),
    )
    moved = sa.select(
        sa.func.substr(state.c.key, len(CASE) + 1),
        state.c.version,
        state.c.state,
        state.c.updated_at,
    ).where(_of_kind(state, CASE))
    bind = op.get_bind()
    bind.execute(
        cases.insert().from_select(["approval_id", "version", "sealed_case", "updated_at"], moved)
    )
    bind.execute(sa.delete(state).where(_of_kind(state, CASE)))


def _move_outbox() -> None:
    """The few unacknowledged events, decoded in Python to learn their approval."""
    from agentdeck.contracts import default_codec  # noqa: PLC0415 - loads every schema: only here

    state = _state()
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(state.c.key, state.c.state, state.c.updated_at).where(_of_kind(state, OUTBOX))
    ).all()
    if not rows:
        return
    codec = default_codec()  # no cipher: sealed fields stay sealed, ids are plain
    moved = []
    for key, text, updated_at in rows:
        record = base64.b64decode(json.loads(text)["event"])
        event = codec.decode(record)
        moved.append(
            {
                "event_id": key.removeprefix(OUTBOX),
                "approval_id": event.approval_id,  # type: ignore[attr-defined]
                "record": record,
                "created_at": updated_at,
            }
        )
    outbox = sa.table(
        "approval_outbox",
        sa.column("event_id", sa.String()),
        sa.column("approval_id", sa.String()),
        sa.column("record", sa.LargeBinary()),
        sa.column("created_at", UtcDateTime()),
    )
    bind.execute(outbox.insert(), moved)
    keys = [key for key, _, _ in rows]
    bind.execute(sa.delete(state).where(state.c.service == SERVICE, state.c.key.in_(keys)))


def downgrade() -> None:
    """Drop both tables.

    Their rows are not moved back into ``service_state``: a database downgraded
    past here loses its cases and any events still waiting to be published.
    """
    op.drop_table("approval_outbox")
    op.drop_table("approval_cases")
