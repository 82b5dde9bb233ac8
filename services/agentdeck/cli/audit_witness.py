"""What ``agentdeck audit witness`` keeps and reads: its state file, the store's notes and leaves.

The state file is the witness's memory, kept away from the store it watches:
one JSON object per line, ``{"recorded_at": ISO time, "note": signed note}``,
the newest last. Only the last one is compared; the earlier ones are the
history a dispute can point at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agentdeck.audit import MerkleTree, SignedNote, TreeHead
from agentdeck.errors import ConfigError
from agentdeck.store import Store
from agentdeck.telemetry.adapters.merkle import MerkleLogStore

__all__ = ["StoreLog", "append_state", "last_recorded"]


def last_recorded(state: Path) -> TreeHead | None:
    """The tree head of the last note the witness recorded (None: a new witness).

    Raises:
        ConfigError: the state file is not one the witness wrote.
    """
    if not state.exists():
        return None
    try:
        lines = state.read_text(encoding="utf-8").splitlines()
        entry = json.loads(lines[-1]) if lines else None
        return None if entry is None else TreeHead.from_text(SignedNote.parse(entry["note"]).text)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"witness state {state} is unreadable: {exc}") from None


def append_state(state: Path, note: SignedNote, now: datetime) -> None:
    """Record ``note`` as the witness's newest."""
    entry = {"recorded_at": now.isoformat(), "note": note.render()}
    with state.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


class StoreLog:
    """The store's latest checkpoint note and its Merkle leaves, read only when asked."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self._open = open_store

    def latest_note(self) -> str:
        """The signed note of the store's latest checkpoint.

        Raises:
            ConfigError: the store holds no checkpoint note yet.
        """
        store = self._open()
        try:
            with store.transaction(read_only=True) as conn:
                note = MerkleLogStore().latest_note(conn)
        finally:
            store.close()
        if note is None:
            raise ConfigError("the store holds no checkpoint note: is telemetry checkpointing?")
        return note

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 proof from tree size ``old_size`` to ``new_size``, from the logged leaves.

        Raises:
            ConfigError: the store logs fewer than ``new_size`` leaves.
        """
        store = self._open()
        try:
            with store.transaction(read_only=True) as conn:
                leaves = MerkleLogStore().leaves(conn)
        finally:
            store.close()
        if len(leaves) < new_size:
            raise ConfigError(
                f"the store logs {len(leaves)} leaves, fewer than the checkpoint's {new_size}: "
                "no consistency proof can be built"
            )
        return MerkleTree([x.leaf_hash for x in leaves[:new_size]]).consistency_proof(old_size)
