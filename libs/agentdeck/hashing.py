"""Canonical JSON and content hashes: what signatures, approvals and dedupe bind to."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "sha256_hex"]


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""One encoder for every call: ``json.dumps`` with options builds a new one each time."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal data, equal text."""
    return _CANONICAL.encode(value)


def sha256_hex(data: str | bytes) -> str:
    """SHA-256 of ``data`` (UTF-8 for text) as 64 hex digits."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
