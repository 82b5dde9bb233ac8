"""The embedded stack's secrets: signing keys and demo approver tokens, kept in the data dir.

Production takes them from the environment (Kubernetes Secrets); the embedded
stack makes them once and keeps them in ``<data dir>/keys.json`` (mode 600) so
decisions signed before a restart still verify after it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel

from agentdeck.kafka import OPERATOR
from agentdeck.settings import WriterKey
from agentdeck.signing import Signer, generate_private_key

__all__ = ["DemoKeys", "load_or_create"]


class DemoKeys(BaseModel):
    """Private keys of the two signing services and the demo approvers' tokens."""

    policy_private: str
    approval_private: str
    approver_tokens: dict[str, str]
    """Approver name -> bearer token."""
    checkpoint_private: str = ""
    """Telemetry's key for signing Merkle-log checkpoints (added to older key files on load)."""
    producer_private: str = ""
    """The CLI's producer key: signs the goals ``submit`` and the demo publish (added on load)."""
    planner_private: str = ""
    """The planner's key: signs tool-call requests and run outcomes (added on load)."""
    operator_private: str = ""
    """The operator's key: signs the kill switches ``agentdeck kill`` sets (added on load)."""
    pii_master: str = ""
    """The master key that wraps every data subject's key (added on load)."""

    def policy_public(self) -> str:
        """The policy-checker's public key."""
        return Signer("policy-1", self.policy_private).public_key_b64()

    def writers(self) -> dict[str, WriterKey]:
        """The writer registry of the embedded stack: every signing service and the operator."""
        owners = {
            "planner-1": ("planner", self.planner_private),
            "policy-1": ("policy-checker", self.policy_private),
            "approval-1": ("approval", self.approval_private),
            "operator-1": (OPERATOR, self.operator_private),
        }
        return {
            key_id: WriterKey(service=service, public_key=Signer(key_id, key).public_key_b64())
            for key_id, (service, key) in owners.items()
        }

    def approval_public(self) -> str:
        """The approval service's public key."""
        return Signer("approval-1", self.approval_private).public_key_b64()


def _new_secret() -> str:
    """32 random bytes, base64: the PII master key."""
    return base64.b64encode(os.urandom(32)).decode()


def load_or_create(data_dir: Path) -> DemoKeys:
    """The keys kept in ``data_dir``, made on first use."""
    path = data_dir / "keys.json"
    if path.exists():
        keys = DemoKeys.model_validate(json.loads(path.read_text(encoding="utf-8")))
        missing = {
            name: _new_secret() if name == "pii_master" else generate_private_key()
            for name in (
                "checkpoint_private",
                "producer_private",
                "planner_private",
                "operator_private",
                "pii_master",
            )
            if not getattr(keys, name)
        }
        if not missing:
            return keys
        keys = keys.model_copy(update=missing)
    else:
        keys = DemoKeys(
            policy_private=generate_private_key(),
            approval_private=generate_private_key(),
            approver_tokens={name: secrets.token_urlsafe(24) for name in ("alice", "bob", "crm")},
            checkpoint_private=generate_private_key(),
            producer_private=generate_private_key(),
            planner_private=generate_private_key(),
            operator_private=generate_private_key(),
            pii_master=_new_secret(),
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(keys.model_dump_json(indent=2))
    return keys
