"""Self-contained proof bundles: one run's events, their inclusion proofs, a checkpoint, a key.

An auditor verifies a bundle with nothing else but the checkpoint key they
trust: each event's bytes hash to a leaf, the leaf's audit path leads to the
checkpoint's root, and the checkpoint's signature verifies under the trusted
key (the bundled public key is carried for its fingerprint only). Payloads the
events reference by claim check travel in the bundle too, and must hash to the
(proven) references.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agentdeck.audit._checkpoint import Checkpoint
from agentdeck.audit._completeness import completeness
from agentdeck.audit._history import history
from agentdeck.audit._leaf import LoggedLeaf, event_leaf
from agentdeck.audit._merkle import MerkleTree, verify_inclusion
from agentdeck.audit._payloads import BundlePayload, ReferenceCollector, payload_failures
from agentdeck.audit._runhead import RunHead
from agentdeck.audit._verify import AuditReport
from agentdeck.audit.errors import BundleUnreadable, VerificationFailed
from agentdeck.contracts import Codec, default_codec
from agentdeck.errors import ConfigError
from agentdeck.hashing import sha256_hex
from agentdeck.signing import Verifier
from agentdeck.store import ArchivedEvent, ArchiveRecord, StoredPayload

__all__ = [
    "BUNDLE_FORMAT",
    "BundleEvent",
    "BundlePayload",
    "ProofBundle",
    "build_bundle",
    "key_fingerprint",
    "verify_bundle",
]

BUNDLE_FORMAT: Final = "agentdeck.audit.bundle.v1"


class BundleEvent(BaseModel):
    """One archived event exactly as stored, with its leaf index and audit path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leaf_index: int
    seq: int
    event_id: str
    event_type: str
    schema_fingerprint: str
    run_id: str | None
    tenant: str
    topic: str
    partition: int
    offset: int
    occurred_at: datetime
    archived_at: datetime
    payload_b64: str
    headers: list[tuple[str, str | None]]
    """Header keys and base64 values (None: header without a value)."""
    run_prev: int | None
    """Leaf index of the run's previous event (None: the run's first)."""
    leaf_version: Literal[1, 2] = 1
    """The leaf encoding its log used (bundles written before version 2 say nothing: 1)."""
    proof: list[str]
    """The audit path, hex, bottom up."""

    def record(self) -> ArchiveRecord:
        """The archived event this entry claims to be."""
        return ArchiveRecord(
            event_id=self.event_id,
            event_type=self.event_type,
            schema_fingerprint=self.schema_fingerprint,
            run_id=self.run_id,
            tenant=self.tenant,
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            occurred_at=self.occurred_at,
            archived_at=self.archived_at,
            payload=base64.b64decode(self.payload_b64),
            headers=tuple((k, None if v is None else base64.b64decode(v)) for k, v in self.headers),
        )


class ProofBundle(BaseModel):
    """Everything needed to check one run's events offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["agentdeck.audit.bundle.v1"] = BUNDLE_FORMAT
    run_id: str
    checkpoint: Checkpoint
    public_key: str
    """The checkpoint signer's Ed25519 public key, base64, as the store published it.

    Informative only: verification uses the verifier's trusted keys."""
    events: list[BundleEvent]
    payloads: list[BundlePayload] = []
    """The payloads the events reference by claim check."""
    run_head: RunHead | None = None
    """The run's signed head: how many events it has and where they end (None: proves nothing)."""
    first_checkpoint: Checkpoint | None = None
    """The checkpoint that first covered the run's first event."""
    consistency: list[str] = []
    """Consistency proof (hex) from ``first_checkpoint`` to ``checkpoint``."""

    @classmethod
    def parse(cls, text: str) -> ProofBundle:
        """Read a bundle file's text; a damaged or truncated file is :class:`BundleUnreadable`."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise BundleUnreadable(
                f"not a readable proof bundle (truncated, damaged or another format): "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
            ) from None


def build_bundle(
    run_id: str,
    events: Sequence[ArchivedEvent],
    leaves: Sequence[LoggedLeaf],
    checkpoint: Checkpoint,
    public_key_b64: str,
    *,
    run_head: RunHead | None = None,
    first_checkpoint: Checkpoint | None = None,
    payloads: Iterable[StoredPayload] = (),
) -> ProofBundle:
    """A bundle of the run's ``events`` that the checkpoint covers, with their proofs.

    Args:
        run_id: The run.
        events: Its archived events.
        leaves: The log's leaves, in index order (at least the checkpoint's).
        checkpoint: The checkpoint to prove against.
        public_key_b64: Its signer's public key.
        run_head: The run's latest signed head (within the checkpoint), which
            proves the bundle holds all of the run's events.
        first_checkpoint: The checkpoint that first covered the run's first
            event; the bundle proves the checkpoint's log extends it.
        payloads: The stored payloads the events reference (copied as stored).

    Raises:
        VerificationFailed: the leaves do not hash to the checkpoint's root.
    """
    covered = leaves[: checkpoint.tree_size]
    tree = MerkleTree([leaf.leaf_hash for leaf in covered])
    if tree.size != checkpoint.tree_size or tree.root() != checkpoint.root():
        raise VerificationFailed(
            "the log does not match the checkpoint; run `agentdeck audit verify`"
        )
    by_id = {leaf.event_id: leaf for leaf in covered}
    logged = sorted(
        ((by_id[e.event_id], e) for e in events if e.event_id in by_id), key=lambda p: p[0].index
    )
    return ProofBundle(
        run_id=run_id,
        checkpoint=checkpoint,
        public_key=public_key_b64,
        events=[_entry(leaf, event, tree) for leaf, event in logged],
        payloads=[BundlePayload.of(p) for p in sorted(payloads, key=lambda p: p.digest)],
        run_head=run_head,
        first_checkpoint=first_checkpoint,
        consistency=_consistency(tree, first_checkpoint),
    )


def _consistency(tree: MerkleTree, first: Checkpoint | None) -> list[str]:
    if first is None or first.tree_size > tree.size:
        return []
    return [p.hex() for p in tree.consistency_proof(first.tree_size)]


def _entry(leaf: LoggedLeaf, event: ArchivedEvent, tree: MerkleTree) -> BundleEvent:
    return BundleEvent(
        leaf_index=leaf.index,
        seq=event.seq,
        event_id=event.event_id,
        event_type=event.event_type,
        schema_fingerprint=event.schema_fingerprint,
        run_id=event.run_id,
        tenant=event.tenant,
        topic=event.topic,
        partition=event.partition,
        offset=event.offset,
        occurred_at=event.occurred_at,
        archived_at=event.archived_at,
        payload_b64=base64.b64encode(event.payload).decode(),
        headers=[
            (k, None if v is None else base64.b64encode(v).decode()) for k, v in event.headers
        ],
        run_prev=leaf.run_prev,
        leaf_version=2 if leaf.version == 2 else 1,
        proof=[p.hex() for p in tree.inclusion_proof(leaf.index)],
    )


def key_fingerprint(public_key_b64: str) -> str:
    """SHA-256 of the raw public key, hex: what an auditor compares out of band."""
    return sha256_hex(base64.b64decode(public_key_b64))


def verify_bundle(
    bundle: ProofBundle,
    *,
    trusted_keys: Mapping[str, str],
    codec: Codec | None = None,
) -> AuditReport:
    """Check a bundle against the checkpoint keys the verifier trusts.

    The key inside the bundle is never trusted: it is part of the evidence,
    and a forger would rebuild and sign the bundle with a key of their own.

    Args:
        bundle: The bundle, as read.
        trusted_keys: Key id -> base64 public key, from the verifier; empty
            means nothing can be verified ("unverified: no trusted key").
        codec: Reads the events for their claim-check references (default:
            every event type this version knows).
    """
    report = AuditReport(checkpoints=1, events=len(bundle.events))
    if not trusted_keys:
        report.failures.append("unverified: no trusted key")
        return report
    try:
        verifier = Verifier(trusted_keys)
    except ConfigError as exc:
        report.failures.append(f"unverified: a trusted key is unusable: {exc}")
        return report
    report.failures += _signature_failures(bundle, trusted_keys, verifier)
    if not bundle.events:
        report.failures.append(f"the bundle holds no events of run {bundle.run_id}")
    report.failures += _event_failures(bundle)
    failures, status = completeness(bundle, verifier)
    report.failures += failures
    report.notes += status
    failures, notes = history(bundle, verifier)
    report.failures += failures
    report.notes += notes
    report.failures += _bundle_payload_failures(bundle, codec or default_codec(), report)
    return report


def _signature_failures(
    bundle: ProofBundle, trusted_keys: Mapping[str, str], verifier: Verifier
) -> list[str]:
    cp = bundle.checkpoint
    trusted = trusted_keys.get(cp.key_id)
    if trusted is None:
        untrusted = (
            f"the checkpoint is signed under key {cp.key_id!r}, which is not among the "
            f"trusted keys ({', '.join(sorted(trusted_keys))})"
        )
        return [untrusted]
    failures = []
    if trusted != bundle.public_key:
        failures.append(f"the bundled public key is not the trusted key {cp.key_id!r}")
    if not cp.verify(verifier):
        failures.append(
            f"the checkpoint (tree size {cp.tree_size}) does not verify under the trusted "
            f"key {cp.key_id!r}: it was altered, swapped or signed by another key"
        )
    return failures


def _bundle_payload_failures(bundle: ProofBundle, codec: Codec, report: AuditReport) -> list[str]:
    collector = ReferenceCollector(codec)
    for event in bundle.events:
        collector.add(event.event_id, base64.b64decode(event.payload_b64))
    available = {p.claim.removeprefix("sha256:"): p.data() for p in bundle.payloads}
    report.payloads = len(collector.referenced)
    return payload_failures(collector.referenced, available, "bundle")


def _event_failures(bundle: ProofBundle) -> list[str]:
    cp, failures, unproven = bundle.checkpoint, [], 0
    previous: BundleEvent | None = None
    for event in bundle.events:
        name = f"event {event.event_id} (leaf {event.leaf_index})"
        if event.run_id != bundle.run_id:
            failures.append(f"{name} belongs to run {event.run_id}, not {bundle.run_id}")
        if previous is not None and event.leaf_index <= previous.leaf_index:
            failures.append(
                f"events reordered: {name} is listed after event {previous.event_id} "
                f"(leaf {previous.leaf_index})"
            )
        failures += _chain_failures(name, event, previous)
        previous = event
        proof = [bytes.fromhex(p) for p in event.proof]
        leaf = event_leaf(event.record(), event.run_prev, version=event.leaf_version)
        if not verify_inclusion(leaf, event.leaf_index, cp.tree_size, proof, cp.root()):
            unproven += 1
            failures.append(
                f"{name} was altered or is not at that leaf: its inclusion proof does not "
                "lead to the checkpoint's root"
            )
    if bundle.events and unproven == len(bundle.events) and len(bundle.events) > 1:
        failures.append(
            "no event's inclusion proof leads to the checkpoint's root: "
            "the checkpoint was swapped for one these proofs were not made against"
        )
    return failures


def _chain_failures(name: str, event: BundleEvent, previous: BundleEvent | None) -> list[str]:
    expected = None if previous is None else previous.leaf_index
    if event.run_prev == expected:
        return []
    if previous is None:
        return [
            (
                f"{name} follows leaf {event.run_prev} of its run, which the bundle lacks: "
                "the run's earlier events were removed"
            )
        ]
    return [
        (
            f"{name} follows leaf {event.run_prev} of its run, not leaf {expected}: "
            "an event of the run was removed or reordered"
        )
    ]
