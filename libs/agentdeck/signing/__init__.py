"""Signatures between services: decisions by the policy-checker, outcomes by the approval service.

Ed25519 (the ``cryptography`` package): the signing service holds the private
key; the executor and auditors hold only public keys, so they can check a
decision but never forge one.
"""

from __future__ import annotations

from agentdeck.signing._keys import Signer, Verifier, generate_private_key, message
from agentdeck.signing._messages import approval_message, decision_message

__all__ = [
    "Signer",
    "Verifier",
    "approval_message",
    "decision_message",
    "generate_private_key",
    "message",
]
