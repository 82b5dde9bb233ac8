"""Tamper evidence for the event archive: a Merkle log, signed checkpoints, proof bundles.

The archive's events, in ``seq`` order, are the leaves of an RFC 6962 Merkle
tree (SHA-256; ``0x00`` leaf and ``0x01`` node prefixes). Checkpoints sign the
tree size and root hash at a time with Ed25519. Verification is offline and
returns an :class:`AuditReport` whose failures say exactly what broke: an
altered, deleted, reordered or inserted event, a truncated tail, or a forged or
swapped checkpoint, or a claim-checked payload that is missing or no longer
hashes to the reference its (proven) event carries. A :class:`ProofBundle`
carries one run's events with their inclusion proofs, the payloads they
reference and the checkpoint, and checks with nothing else but the key the
auditor trusts (never a key found in the evidence itself)::

    leaves = log_events(archived_events, 0, {})
    cp = sign_checkpoint(signer, len(leaves), root_hash([x.leaf_hash for x in leaves]), now)
    bundle = build_bundle(run_id, the_runs_events, leaves, cp, signer.public_key_b64())
    assert verify_bundle(bundle, trusted_keys={signer.key_id: trusted_public_key}).ok

Each checkpoint is also a C2SP tlog-checkpoint signed note (:class:`SignedNote`
of a :class:`TreeHead`) that standard note tooling verifies, and that a
:func:`witness` compares with the last one it recorded, so a log cut back to
an earlier state or forked is caught.
"""

from agentdeck.audit._bundle import (
    BUNDLE_FORMAT,
    BundleEvent,
    BundlePayload,
    ProofBundle,
    build_bundle,
    key_fingerprint,
    verify_bundle,
)
from agentdeck.audit._checkpoint import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    checkpoint_message,
    sign_checkpoint,
)
from agentdeck.audit._fast import LeafChunk, LeafRow, LogSource
from agentdeck.audit._leaf import (
    LEAF_DOMAIN,
    LEAF_V2_DOMAIN,
    LEAF_VERSION,
    LoggedLeaf,
    audit_record,
    event_leaf,
    leaf_bytes,
    log_events,
    record_leaf,
    stored_form,
    stored_leaf,
)
from agentdeck.audit._merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    inclusion_root,
    leaf_hash,
    node_hash,
    perfect_root,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from agentdeck.audit._note import (
    NoteMalformed,
    NoteSignature,
    SignedNote,
    note_key_id,
    note_verifier_key,
)
from agentdeck.audit._payloads import ReferenceCollector, payload_failures
from agentdeck.audit._runhead import (
    RUN_HEAD_BATCH_DOMAIN,
    RUN_HEAD_DOMAIN,
    TERMINAL_EVENT_TYPES,
    RunHead,
    sign_run_head,
    sign_run_heads,
)
from agentdeck.audit._treehead import TreeHead, audit_origin, sign_tree_head
from agentdeck.audit._verify import (
    ArchiveSource,
    AuditReport,
    Completeness,
    verify_log,
    verify_sources,
)
from agentdeck.audit._witness import RollbackDetected, WitnessRefused, open_checkpoint, witness
from agentdeck.audit.errors import AuditError, BundleUnreadable, VerificationFailed

__all__ = [
    "BUNDLE_FORMAT",
    "CHECKPOINT_DOMAIN",
    "EMPTY_ROOT",
    "LEAF_DOMAIN",
    "LEAF_V2_DOMAIN",
    "LEAF_VERSION",
    "RUN_HEAD_BATCH_DOMAIN",
    "RUN_HEAD_DOMAIN",
    "TERMINAL_EVENT_TYPES",
    "ArchiveSource",
    "AuditError",
    "AuditReport",
    "BundleEvent",
    "BundlePayload",
    "BundleUnreadable",
    "Checkpoint",
    "Completeness",
    "Frontier",
    "LeafChunk",
    "LeafRow",
    "LogSource",
    "LoggedLeaf",
    "MerkleTree",
    "NoteMalformed",
    "NoteSignature",
    "ProofBundle",
    "ReferenceCollector",
    "RollbackDetected",
    "RunHead",
    "SignedNote",
    "TreeHead",
    "VerificationFailed",
    "WitnessRefused",
    "audit_origin",
    "audit_record",
    "build_bundle",
    "checkpoint_message",
    "event_leaf",
    "inclusion_root",
    "key_fingerprint",
    "leaf_bytes",
    "leaf_hash",
    "log_events",
    "node_hash",
    "note_key_id",
    "note_verifier_key",
    "open_checkpoint",
    "payload_failures",
    "perfect_root",
    "record_leaf",
    "root_hash",
    "sign_checkpoint",
    "sign_run_head",
    "sign_run_heads",
    "sign_tree_head",
    "stored_form",
    "stored_leaf",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
    "verify_sources",
    "witness",
]
