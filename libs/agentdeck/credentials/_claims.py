"""What a per-call credential asserts, and the hash that binds it to the arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentdeck.hashing import canonical_json, sha256_hex

__all__ = ["Claims", "args_sha256"]


def args_sha256(arguments: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``arguments`` as canonical JSON.

    The executor hashes the validated arguments it calls the tool with; the
    backend hashes the request it is asked to serve. Equal data, equal hash.
    """
    return sha256_hex(canonical_json(dict(arguments)))


@dataclass(frozen=True)
class Claims:
    """A verified credential's claims.

    Attributes:
        key_id: The signing key that minted it.
        token_id: Unique id of this credential (``jti``).
        issuer: The executor that minted it (``iss``).
        audience: The backend it is for (``aud``).
        run_id: The run the call belongs to.
        call_id: The call's idempotency key: unique per run, step and attempt.
        tool: The tool the call runs.
        args_sha256: SHA-256 of the call's canonical arguments.
        not_before: Start of validity (``nbf``).
        not_after: End of validity (``exp``), the call's deadline.
    """

    key_id: str
    token_id: str
    issuer: str
    audience: str
    run_id: str
    call_id: str
    tool: str
    args_sha256: str
    not_before: datetime
    not_after: datetime
