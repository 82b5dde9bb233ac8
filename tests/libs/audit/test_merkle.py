"""RFC 6962 hashing and proofs, against the RFC's recursive definitions and known vectors."""

from __future__ import annotations

import hashlib

import pytest

from agentdeck.audit import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# The inputs and tree heads of the certificate-transparency reference test data.
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 defines it (leaves are leaf hashes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = k_of(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1."""
    if len(leaves) == 1:
        return []
    k = k_of(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def hashes(n: int) -> list[bytes]:
    return [leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def test_tree_heads_match_the_reference_vectors():
    leaves = [leaf_hash(data) for data in VECTOR_LEAVES]
    for size, expected in enumerate(VECTOR_ROOTS, start=1):
        assert root_hash(leaves[:size]).hex() == expected
    assert root_hash([]) == EMPTY_ROOT


def test_leaves_and_nodes_hash_with_distinct_prefixes():
    assert leaf_hash(b"ab") == hashlib.sha256(b"\x00ab").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(1, 34))
def test_the_tree_and_its_audit_paths_follow_the_rfc_definitions(size):
    leaves = hashes(size)
    tree = MerkleTree(leaves)
    assert tree.root() == mth(leaves)
    for index in range(size):
        proof = tree.inclusion_proof(index)
        assert proof == path(index, leaves)
        assert verify_inclusion(leaves[index], index, size, proof, tree.root())


def test_an_inclusion_proof_fails_for_another_leaf_index_or_root():
    leaves = hashes(13)
    tree = MerkleTree(leaves)
    proof = tree.inclusion_proof(6)
    assert not verify_inclusion(leaves[7], 6, 13, proof, tree.root())
    assert not verify_inclusion(leaves[6], 5, 13, proof, tree.root())
    assert not verify_inclusion(leaves[6], 6, 8, proof, tree.root())
    assert not verify_inclusion(leaves[6], 6, 13, proof, root_hash(leaves[:12]))
    assert not verify_inclusion(leaves[6], 13, 13, proof, tree.root())


def test_consistency_proofs_verify_between_every_pair_of_sizes():
    leaves = hashes(21)
    for new in range(1, 22):
        tree = MerkleTree(leaves[:new])
        for old in range(1, new + 1):
            proof = tree.consistency_proof(old)
            old_root = root_hash(leaves[:old])
            assert verify_consistency(old, new, old_root, tree.root(), proof), (old, new)


def test_a_consistency_proof_fails_when_history_was_rewritten():
    leaves = hashes(11)
    rewritten = [*leaves[:3], leaf_hash(b"other"), *leaves[4:]]
    proof = MerkleTree(leaves).consistency_proof(6)
    assert not verify_consistency(6, 11, root_hash(rewritten[:6]), root_hash(leaves), proof)
    assert not verify_consistency(6, 11, root_hash(leaves[:6]), root_hash(rewritten), proof)
    assert not verify_consistency(7, 11, root_hash(leaves[:7]), root_hash(leaves), proof)


def test_the_frontier_tracks_the_tree_head_as_leaves_arrive():
    leaves = hashes(40)
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for size, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == mth(leaves[:size])
        resumed = Frontier(frontier.size, frontier.nodes)
        assert resumed.root() == frontier.root()


def test_a_frontier_refuses_a_node_count_its_size_cannot_have():
    with pytest.raises(ValueError, match="has 2 nodes"):
        Frontier(3, [leaf_hash(b"x")])
