"""The archive's Merkle log in telemetry's own tables, moved out of ``service_state``.

The log was kept under the ``service_state`` service ``telemetry-checkpoints``,
one JSON or text value per string-prefixed key. This revision creates a table
per kind of thing and moves those rows into them, byte for byte where the
verifier reads bytes (notes, keys, signatures, hashes), then deletes them from
``service_state``.

Revision ID: t0003
Revises: t0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from agentdeck.store.sql import UtcDateTime

revision = "t0003"
down_revision: str | None = "t0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
NAME = sa.String(200)
WHEN = sa.DateTime(timezone=True)
OLD_SERVICE = "telemetry-checkpoints"
PAGE = 200


def upgrade() -> None:
    """Create the log's tables and move the log's ``service_state`` rows into them."""
    op.create_table(
        "merkle_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("run_heads", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merkle_head"),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.create_table(
        "merkle_leaf_chunks",
        sa.Column("first_leaf", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaves", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("first_leaf", name="pk_merkle_leaf_chunks"),
    )
    op.create_table(
        "merkle_run_last_leaf",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_merkle_run_last_leaf"),
    )
    op.create_table(
        "merkle_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", WHEN, nullable=False),
        sa.Column("key_id", NAME, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("run_heads", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tree_size", name="pk_merkle_checkpoints"),
    )
    op.create_table(
        "merkle_notes",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_merkle_notes"),
    )
    op.create_table(
        "merkle_keys",
        sa.Column("key_id", NAME, nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_merkle_keys"),
    )
    op.create_table(
        "merkle_run_heads",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("last_leaf", sa.BigInteger(), nullable=False),
        sa.Column("terminal_leaf", sa.BigInteger(), nullable=True),
        sa.Column("signed_at", WHEN, nullable=False),
        sa.Column("key_id", NAME, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_merkle_run_heads"),
    )
    if sa.inspect(op.get_bind()).has_table("service_state"):
        _move_rows(op.get_bind())


def downgrade() -> None:
    """Drop the log's tables.

    The log is not moved back into ``service_state``: downgrading past this
    revision loses it (the archive itself is untouched, and a checkpointer of
    the earlier code starts a new log from its first event).
    """
    for table in (
        "merkle_run_heads",
        "merkle_keys",
        "merkle_notes",
        "merkle_checkpoints",
        "merkle_run_last_leaf",
        "merkle_leaf_chunks",
        "merkle_head",
    ):
        op.drop_table(table)


# The tables as this revision made them, for moving the rows (not the models: they may change).
_META = sa.MetaData()
_STATE = sa.Table(
    "service_state",
    _META,
    sa.Column("service", NAME),
    sa.Column("key", NAME),
    sa.Column("version", sa.Integer()),
    sa.Column("state", sa.Text()),
)
_HEAD = sa.Table(
    "merkle_head",
    _META,
    sa.Column("id", sa.SmallInteger()),
    sa.Column("tree_size", sa.BigInteger()),
    sa.Column("last_seq", sa.BigInteger()),
    sa.Column("frontier", sa.Text()),
    sa.Column("version", sa.BigInteger()),
    sa.Column("run_heads", sa.BigInteger()),
)
_CHUNKS = sa.Table(
    "merkle_leaf_chunks",
    _META,
    sa.Column("first_leaf", sa.BigInteger()),
    sa.Column("leaves", sa.Text()),
)
_RUNS = sa.Table(
    "merkle_run_last_leaf", _META, sa.Column("run_id", ID), sa.Column("leaf_index", sa.BigInteger())
)
_CHECKPOINTS = sa.Table(
    "merkle_checkpoints",
    _META,
    sa.Column("tree_size", sa.BigInteger()),
    sa.Column("root_hash", sa.String(64)),
    sa.Column("signed_at", UtcDateTime()),
    sa.Column("key_id", NAME),
    sa.Column("signature", sa.Text()),
    sa.Column("run_heads", sa.BigInteger()),
)
_NOTES = sa.Table(
    "merkle_notes", _META, sa.Column("tree_size", sa.BigInteger()), sa.Column("note", sa.Text())
)
_KEYS = sa.Table(
    "merkle_keys", _META, sa.Column("key_id", NAME), sa.Column("public_key", sa.Text())
)
_RUN_HEADS = sa.Table(
    "merkle_run_heads",
    _META,
    sa.Column("run_id", ID),
    sa.Column("tree_size", sa.BigInteger()),
    sa.Column("events", sa.BigInteger()),
    sa.Column("last_leaf", sa.BigInteger()),
    sa.Column("terminal_leaf", sa.BigInteger()),
    sa.Column("signed_at", UtcDateTime()),
    sa.Column("key_id", NAME),
    sa.Column("signature", sa.Text()),
)


def _pages(conn: sa.Connection) -> Iterator[Sequence[sa.Row[Any, Any, Any]]]:
    """The old log's rows, a page at a time, in key order."""
    after = ""
    while True:
        page = conn.execute(
            sa.select(_STATE.c.key, _STATE.c.version, _STATE.c.state)
            .where(_STATE.c.service == OLD_SERVICE, _STATE.c.key > after)
            .order_by(_STATE.c.key)
            .limit(PAGE)
        ).all()
        if not page:
            return
        yield page
        after = page[-1][0]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _move_rows(conn: sa.Connection) -> None:
    head: dict[str, Any] | None = None
    run_head_count: int | None = None
    for page in _pages(conn):
        rows: dict[sa.Table, list[dict[str, Any]]] = {}
        moved = []
        for key, version, state in page:
            kind, _, name = key.partition("/")
            if key == "head":
                head = _head(state, version)
            elif key == "runheads":
                run_head_count = int(state)
            elif kind in _KINDS:
                table, convert = _KINDS[kind]
                rows.setdefault(table, []).append(convert(name, state))
            else:
                continue  # not the log's: left where it is
            moved.append(key)
        for table, values in rows.items():
            conn.execute(table.insert(), values)
        conn.execute(
            sa.delete(_STATE).where(_STATE.c.service == OLD_SERVICE, _STATE.c.key.in_(moved))
        )
    if head is None and run_head_count is not None:
        head = {"tree_size": 0, "last_seq": 0, "frontier": "[]", "version": 1}
    if head is not None:
        conn.execute(_HEAD.insert(), {"id": 1, **head, "run_heads": run_head_count or 0})


def _head(state: str, version: int) -> dict[str, Any]:
    data = json.loads(state)
    return {
        "tree_size": data["size"],
        "last_seq": data["last_seq"],
        "frontier": json.dumps(data["frontier"]),
        "version": version,
    }


def _chunk(name: str, state: str) -> dict[str, Any]:
    """A chunk's leaves, as the chunk held them (its first index is now the row's key)."""
    return {"first_leaf": int(name), "leaves": json.dumps(json.loads(state)["leaves"])}


def _checkpoint(_name: str, state: str) -> dict[str, Any]:
    data = json.loads(state)
    return {
        "tree_size": data["tree_size"],
        "root_hash": data["root_hash"],
        "signed_at": _when(data["timestamp"]),
        "key_id": data["key_id"],
        "signature": data["signature"],
        "run_heads": data.get("run_heads"),
    }


def _run_head(_name: str, state: str) -> dict[str, Any]:
    data = json.loads(state)
    return {
        "run_id": data["run_id"],
        "tree_size": data["tree_size"],
        "events": data["events"],
        "last_leaf": data["last_leaf"],
        "terminal_leaf": data["terminal_leaf"],
        "signed_at": _when(data["timestamp"]),
        "key_id": data["key_id"],
        "signature": data["signature"],
    }


# What each key prefix of the old log holds: its table and its row.
_KINDS: dict[str, tuple[sa.Table, Callable[[str, str], dict[str, Any]]]] = {
    "leaves": (_CHUNKS, _chunk),
    "run": (_RUNS, lambda name, state: {"run_id": name, "leaf_index": int(state)}),
    "checkpoint": (_CHECKPOINTS, _checkpoint),
    "note": (_NOTES, lambda name, state: {"tree_size": int(name), "note": state}),
    "key": (_KEYS, lambda name, state: {"key_id": name, "public_key": state}),
    "runhead": (_RUN_HEADS, _run_head),
}
