"""RFC 6962 Merkle tree hashing, inclusion and consistency proofs (SHA-256).

Leaves hash as ``SHA-256(0x00 || data)`` and interior nodes as
``SHA-256(0x01 || left || right)``, so a leaf can never pass for a node.
Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "MerkleTree",
    "inclusion_root",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """A tree over a fixed list of leaf hashes, with every level kept for proofs.

    Built bottom up: pairs hash together and a level's odd last node moves up
    unchanged, which yields exactly RFC 6962's tree (split at the largest power
    of two below the size).
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._leaves = list(leaves)
        self._levels = [self._leaves]
        while len(self._levels[-1]) > 1:
            level = self._levels[-1]
            up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                up.append(level[-1])
            self._levels.append(up)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._leaves)

    def root(self) -> bytes:
        """The tree head hash (``SHA-256("")`` for an empty tree)."""
        return self._levels[-1][0] if self._leaves else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``, bottom up."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} not in a tree of {self.size}")
        proof = []
        for level in self._levels[:-1]:
            if index % 2:
                proof.append(level[index - 1])
            elif index + 1 < len(level):
                proof.append(level[index + 1])
            index //= 2
        return proof

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """Proof that the first ``old_size`` leaves' tree is a prefix of this one."""
        if not 0 <= old_size <= self.size:
            raise IndexError(f"size {old_size} not within a tree of {self.size}")
        if old_size in (0, self.size):
            return []
        return _subproof(old_size, self._leaves, complete=True)


def perfect_root(leaves: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree: ``leaves`` (leaf hashes) must number a power of two."""
    if len(leaves) & (len(leaves) - 1) or not leaves:
        raise ValueError(f"{len(leaves)} leaves do not form a perfect subtree")
    level = list(leaves)
    sha = hashlib.sha256
    while len(level) > 1:
        level = [
            sha(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=True)
        ]
    return level[0]


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 tree head of ``leaves`` (leaf hashes)."""
    return MerkleTree(leaves).root()


def _largest_power_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_hash(leaves)]
    k = _largest_power_below(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), root_hash(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], complete=False), root_hash(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``."""
    return inclusion_root(leaf, index, size, proof) == root


def inclusion_root(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root of the tree of ``size`` leaves in which ``proof`` puts ``leaf`` at ``index``.

    None if ``proof`` cannot be such an audit path (its length does not fit).
    """
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows tree ``(old_size, old_root)`` is a prefix of the new tree."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if old_size > new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


class Frontier:
    """The right edge of a growing tree: one root per perfect subtree, left to right.

    Enough to append leaves and compute the tree head in O(log n) memory, so
    the log can be extended without rereading every leaf.
    """

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} nodes")
        self.size = size
        self.nodes = list(nodes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash."""
        self.append_subtree(leaf, 0)

    def append_subtree(self, root: bytes, height: int) -> None:
        """Add the ``2**height`` leaves whose perfect subtree hashes to ``root``.

        Raises:
            ValueError: the tree's size is not a multiple of ``2**height``, so
                those leaves would not form one subtree of it.
        """
        width = 1 << height
        if self.size % width:
            raise ValueError(f"a subtree of {width} leaves cannot follow {self.size} leaves")
        node, size = root, self.size >> height
        while size & 1:
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
        self.nodes.append(node)
        self.size += width

    def root(self) -> bytes:
        """The tree head of every leaf appended so far."""
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc
