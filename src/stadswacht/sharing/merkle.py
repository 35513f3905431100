"""Merkle tree hashes and proofs of RFC 9162 (Certificate Transparency 2.0), section 2.1.

A leaf's hash is ``SHA-256(0x00 || entry)``, an inner node's ``SHA-256(0x01 || left || right)``
(distinct prefixes, so a leaf can never pass for a node); a tree of ``n`` leaves splits at the
largest power of two smaller than ``n``; the empty tree's hash is ``SHA-256("")``.

The pure functions take the list of leaf hashes and are the reference; :class:`MerkleTree`
keeps every perfect subtree's hash (about ``2 n`` hashes in all), so appending costs one hash
amortised and a root, inclusion or consistency proof costs ``O(log n)`` hashes, for any past
size.

>>> leaves = [leaf_hash(bytes([i])) for i in range(7)]
>>> r = root(leaves)
>>> verify_inclusion(leaves[3], 3, 7, inclusion_proof(leaves, 3), r)
True
>>> verify_consistency(3, 7, root(leaves[:3]), r, consistency_proof(leaves, 3))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The hash of the empty tree, ``SHA-256("")``."""

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree over leaf hashes, keeping all perfect subtrees' hashes.

    ``levels[h][i]`` is the hash of the perfect subtree of the ``2**h`` leaves from
    ``i * 2**h``. Every range the RFC 9162 algorithms ask for starts at a multiple of a power
    of two at least its length, so it is a fold of at most ``log2 n`` stored subtrees.

    >>> t = MerkleTree()
    >>> t.extend(leaf_hash(bytes([i])) for i in range(5))
    >>> t.root() == root([leaf_hash(bytes([i])) for i in range(5)])
    True
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        levels = self._levels
        index = len(levels[0])
        levels[0].append(leaf)
        h, i, node = 0, index, leaf
        while i & 1:  # a right child completes its parent
            node = _sha256(b"\x01" + levels[h][i - 1] + node).digest()
            h += 1
            i >>= 1
            if h == len(levels):
                levels.append([])
            levels[h].append(node)
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes in order."""
        for leaf in leaf_hashes:
            self.append(leaf)

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        return self._levels[0][index]

    def leaves(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """Leaf hashes ``start`` (inclusive) to ``end`` (exclusive)."""
        return self._levels[0][start:end]

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``lo:hi``, where ``lo`` is a multiple of a power of two >= hi - lo."""
        if hi == lo:
            return EMPTY_ROOT
        parts: list[bytes] = []
        pos, rest = lo, hi - lo
        while rest:
            h = rest.bit_length() - 1
            parts.append(self._levels[h][pos >> h])
            pos += 1 << h
            rest -= 1 << h
        node = parts[-1]
        for left in reversed(parts[:-1]):
            node = node_hash(left, node)
        return node

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is beyond the tree (it has {self.size} leaves)")

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (all by default)."""
        size = self.size if size is None else size
        self._check(size)
        return self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162
        2.1.3.1), from the leaf's sibling up."""
        size = self.size if size is None else size
        self._check(size)
        if not 0 <= index < size:
            raise ValueError(f"index {index} is not in a tree of size {size}")
        proof: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range(lo, lo + k))
                lo += k
        proof.reverse()
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """The proof that the tree of ``first`` leaves is a prefix of that of ``second``
        (RFC 9162 2.1.4.1); empty when ``first`` is 0 or equals ``second``."""
        second = self.size if second is None else second
        self._check(second)
        if not 0 <= first <= second:
            raise ValueError(f"first size {first} must be between 0 and {second}")
        if first in (0, second):
            return []
        proof: list[bytes] = []
        lo, hi, whole = 0, second, True
        while first != hi:
            k = _split(hi - lo)
            if first - lo <= k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range(lo, lo + k))
                lo += k
                whole = False
        if not whole:
            proof.append(self._range(lo, hi))
        proof.reverse()
        return proof


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of the leaves, RFC 9162 2.1.1.

    >>> root([]).hex()[:16]
    'e3b0c44298fc1c14'
    """
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for leaf in leaf_hashes:
        h, node = 0, leaf
        while stack and stack[-1][0] == h:
            node = node_hash(stack.pop()[1], node)
            h += 1
        stack.append((h, node))
    if not stack:
        return EMPTY_ROOT
    node = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        node = node_hash(left, node)
    return node


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of all ``leaf_hashes`` (RFC 9162 2.1.3.1)."""
    return MerkleTree(leaf_hashes).inclusion_proof(index)


def consistency_proof(leaf_hashes: Sequence[bytes], m: int) -> list[bytes]:
    """The consistency proof from the first ``m`` leaves to all ``leaf_hashes`` (RFC 9162
    2.1.4.1)."""
    return MerkleTree(leaf_hashes).consistency_proof(m)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``root_hash`` of
    ``size`` leaves (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``root_m`` of ``m`` leaves to be a prefix of the tree
    ``root_n`` of ``n`` leaves (RFC 9162 2.1.4.2, extended to ``m == 0`` and ``m == n``, where
    the proof is empty)."""
    if not 0 <= m <= n:
        return False
    if m == 0:
        return not proof and (n > 0 or root_n == EMPTY_ROOT)
    if m == n:
        return not proof and root_m == root_n
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # an exact power of two: the old root is itself a subtree
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root_m and sr == root_n and sn == 0
