"""Signatures between services: decisions by the policy-checker, outcomes by the approval service.

Ed25519 (the ``cryptography`` package): the signing service holds the private
key; the executor and auditors hold only public keys, so they can check a
decision but never forge one.
"""

from __future__ import annotations

from agentdeck.signing._checks import (
    approval_id_problem,
    approval_signature_problem,
    bound_approval_id,
    decision_signature_problem,
)
from agentdeck.signing._keys import (
    Signer,
    Verifier,
    generate_private_key,
    message,
    required_signer,
)
from agentdeck.signing._messages import (
    ApprovalOutcome,
    approval_message,
    approval_outcome_message,
    decision_message,
)
from agentdeck.signing._records import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    RecordSignature,
    SigningKey,
    record_signature,
    sign_record,
)

__all__ = [
    "KEY_ID_HEADER",
    "SIGNATURE_HEADER",
    "ApprovalOutcome",
    "RecordSignature",
    "Signer",
    "SigningKey",
    "Verifier",
    "approval_id_problem",
    "approval_message",
    "approval_outcome_message",
    "approval_signature_problem",
    "bound_approval_id",
    "decision_message",
    "decision_signature_problem",
    "generate_private_key",
    "message",
    "record_signature",
    "required_signer",
    "sign_record",
]
