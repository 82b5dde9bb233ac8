"""The witness: a later checkpoint must extend the one it recorded, under a trusted key."""

from __future__ import annotations

import pytest

from agentdeck.audit import (
    MerkleTree,
    RollbackDetected,
    SignedNote,
    TreeHead,
    WitnessRefused,
    leaf_hash,
    open_checkpoint,
    sign_tree_head,
    witness,
)
from agentdeck.signing import Signer, generate_private_key

ORIGIN = "agentdeck.test/audit"
LEAVES = [leaf_hash(str(i).encode()) for i in range(12)]


def head(size: int, leaves: list[bytes] = LEAVES, origin: str = ORIGIN) -> TreeHead:
    return TreeHead(origin, size, MerkleTree(leaves[:size]).root())


def proof_from(leaves: list[bytes]):
    return lambda old, new: MerkleTree(leaves[:new]).consistency_proof(old)


def no_proof(old: int, new: int) -> list[bytes]:
    raise AssertionError("no proof is needed")


def test_growth_is_proven_consistent_and_accepted():
    assert witness(head(5), head(12), proof_from(LEAVES)) == (
        f"grew from tree size 5: {head(12).describe()}"
    )


def test_the_first_checkpoint_and_the_same_one_again_are_accepted():
    assert witness(None, head(5), no_proof).startswith("first checkpoint of agentdeck.test/audit")
    assert witness(head(5), head(5), no_proof).startswith("unchanged")


def test_a_smaller_tree_is_a_rollback_naming_both_sizes_and_roots():
    with pytest.raises(RollbackDetected) as caught:
        witness(head(12), head(9), no_proof)
    assert str(caught.value) == (
        f"rollback: the witness recorded {head(12).describe()}; presented {head(9).describe()}"
    )


def test_the_same_size_with_another_root_is_a_fork():
    forked = [*LEAVES[:11], leaf_hash(b"other")]
    with pytest.raises(RollbackDetected, match=r"^fork: the witness recorded tree size 12"):
        witness(head(12), head(12, forked), no_proof)


def test_a_larger_tree_that_rewrote_the_recorded_part_fails_its_consistency_proof():
    rewritten = [leaf_hash(b"x"), *LEAVES[1:]]
    with pytest.raises(RollbackDetected, match="the consistency proof fails"):
        witness(head(5), head(12, rewritten), proof_from(rewritten))


def test_a_checkpoint_of_another_origin_is_refused():
    with pytest.raises(RollbackDetected, match=r"the witness records agentdeck\.test/audit"):
        witness(head(5), head(12, origin="elsewhere/audit"), proof_from(LEAVES))


def test_a_checkpoint_signed_by_a_trusted_key_opens():
    key = Signer("telemetry-1", generate_private_key())
    note = sign_tree_head(key, head(9))
    assert open_checkpoint(note, {"telemetry-1": key.public_key_b64()}) == head(9)


def test_a_checkpoint_signed_by_an_untrusted_key_is_refused():
    key = Signer("telemetry-1", generate_private_key())
    other = Signer("telemetry-1", generate_private_key())
    note = sign_tree_head(other, head(9))
    with pytest.raises(WitnessRefused, match="no signature by a trusted key"):
        open_checkpoint(note, {"telemetry-1": key.public_key_b64()})


def test_a_checkpoint_whose_trusted_signature_fails_is_refused():
    key = Signer("telemetry-1", generate_private_key())
    note = sign_tree_head(key, head(9))
    altered = SignedNote(head(12).text(), note.signatures)
    with pytest.raises(WitnessRefused, match="does not verify under key 'telemetry-1'"):
        open_checkpoint(altered, {"telemetry-1": key.public_key_b64()})
