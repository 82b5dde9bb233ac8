"""Make the event archive append-only in the database itself.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01

Triggers refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of
``event_archive``, whoever issues it. Both backends report the refusal as an
integrity error (SQLite ``RAISE(ABORT)``, PostgreSQL SQLSTATE 23001).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_MESSAGE = "event_archive is append-only"

_SQLITE = [
    f"""CREATE TRIGGER event_archive_no_{operation.lower()}
    BEFORE {operation} ON event_archive
    BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"""
    for operation in ("UPDATE", "DELETE")
]

_POSTGRES = [
    f"""CREATE FUNCTION event_archive_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{_MESSAGE}: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END
    $$""",
    """CREATE TRIGGER event_archive_no_change
    BEFORE UPDATE OR DELETE ON event_archive
    FOR EACH ROW EXECUTE FUNCTION event_archive_append_only()""",
    """CREATE TRIGGER event_archive_no_truncate
    BEFORE TRUNCATE ON event_archive
    FOR EACH STATEMENT EXECUTE FUNCTION event_archive_append_only()""",
]


def upgrade() -> None:
    statements = _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_archive_no_truncate ON event_archive")
        op.execute("DROP TRIGGER event_archive_no_change ON event_archive")
        op.execute("DROP FUNCTION event_archive_append_only()")
    else:
        op.execute("DROP TRIGGER event_archive_no_update")
        op.execute("DROP TRIGGER event_archive_no_delete")
