"""The reference format: what a claimable field holds instead of a large payload."""

from __future__ import annotations

import json
from typing import Final

from agentdeck.hashing import canonical_json
from agentdeck.store import PayloadRef

__all__ = ["REFERENCE_PREFIX", "parse_reference", "reference_json"]

REFERENCE_PREFIX: Final = '{"$claim":"sha256:'
"""Every reference starts with this; canonical JSON puts ``$claim`` first."""

_KEYS = frozenset({"$claim", "bytes", "media_type"})


def reference_json(ref: PayloadRef) -> str:
    """The reference as a field holds it (canonical JSON)."""
    return canonical_json({"$claim": ref.claim, "bytes": ref.size, "media_type": ref.media_type})


def parse_reference(text: str) -> PayloadRef | None:
    """The reference ``text`` holds, or None if it holds a payload (cheap for payloads)."""
    if not text.startswith(REFERENCE_PREFIX):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.keys() != _KEYS:
        return None
    claim, size, media_type = data["$claim"], data["bytes"], data["media_type"]
    if not isinstance(size, int) or not isinstance(media_type, str):
        return None
    try:
        return PayloadRef(str(claim).removeprefix("sha256:"), size, media_type)
    except ValueError:
        return None
