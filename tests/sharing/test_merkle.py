"""RFC 9162 Merkle trees: known roots, and every proof up to 64 leaves against the RFC's own
recursive definitions."""

from __future__ import annotations

import hashlib

import pytest

from stadswacht.sharing.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The leaves and roots of the RFC 6962 / certificate-transparency reference test data.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# --- the RFC's definitions, written as recursively as the text --------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


DATA = [f"entry {i}".encode() for i in range(64)]
HASHES = [leaf_hash(d) for d in DATA]
TREE = MerkleTree(HASHES)


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT == MerkleTree().root()


def test_leaves_and_nodes_hash_with_distinct_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    # A two-leaf node is not the leaf hash of the concatenated children.
    assert node_hash(HASHES[0], HASHES[1]) != leaf_hash(HASHES[0] + HASHES[1])


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_the_certificate_transparency_reference_vectors(n: int) -> None:
    hashes = [leaf_hash(d) for d in CT_LEAVES[:n]]
    assert root(hashes).hex() == CT_ROOTS[n - 1]
    assert MerkleTree(hashes).root().hex() == CT_ROOTS[n - 1]


def test_roots_match_the_recursive_definition_at_every_size() -> None:
    for n in range(65):
        expected = ref_mth(DATA[:n])
        assert root(HASHES[:n]) == expected
        assert TREE.root(n) == expected


def test_inclusion_proofs_match_the_rfc_and_verify_for_every_leaf_and_size() -> None:
    for n in range(1, 65):
        r = TREE.root(n)
        for m in range(n):
            proof = TREE.inclusion_proof(m, n)
            assert proof == ref_path(m, DATA[:n])
            assert verify_inclusion(HASHES[m], m, n, proof, r)
    assert inclusion_proof(HASHES[:13], 5) == ref_path(5, DATA[:13])


def test_consistency_proofs_match_the_rfc_and_verify_for_every_pair() -> None:
    for n in range(1, 65):
        rn = TREE.root(n)
        for m in range(1, n + 1):
            proof = TREE.consistency_proof(m, n)
            assert proof == ([] if m == n else ref_subproof(m, DATA[:n], True))
            assert verify_consistency(m, n, TREE.root(m), rn, proof)
    assert consistency_proof(HASHES[:13], 5) == ref_subproof(5, DATA[:13], True)
    assert verify_consistency(0, 5, EMPTY_ROOT, TREE.root(5), [])


def test_wrong_inclusion_proofs_fail() -> None:
    n, r = 37, TREE.root(37)
    for m in range(n):
        proof = TREE.inclusion_proof(m, n)
        assert not verify_inclusion(HASHES[m], m, n, proof, TREE.root(36))
        assert not verify_inclusion(HASHES[(m + 1) % n], m, n, proof, r)
        assert not verify_inclusion(HASHES[m], (m + 1) % n, n, proof, r)
        assert not verify_inclusion(HASHES[m], m, n, [*proof, HASHES[0]], r)
        if proof:
            assert not verify_inclusion(HASHES[m], m, n, proof[:-1], r)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes(32)
                assert not verify_inclusion(HASHES[m], m, n, bad, r)
    assert not verify_inclusion(HASHES[0], 5, 5, [], r)


def test_wrong_consistency_proofs_fail() -> None:
    for n in range(2, 40):
        rn = TREE.root(n)
        for m in range(1, n):
            proof = TREE.consistency_proof(m, n)
            rm = TREE.root(m)
            assert not verify_consistency(m, n, rm, TREE.root(n - 1), proof)
            assert not verify_consistency(m, n, node_hash(rm, rm), rn, proof)
            assert not verify_consistency(m, n, rm, rn, [])
            assert not verify_consistency(m, n, rm, rn, proof[:-1])
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes(32)
                assert not verify_consistency(m, n, rm, rn, bad)
    assert not verify_consistency(3, 3, TREE.root(3), TREE.root(4), [])
    assert not verify_consistency(4, 3, TREE.root(4), TREE.root(3), [])


def test_a_large_tree_answers_proofs_for_past_sizes() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_003)]
    tree = MerkleTree(hashes)
    assert tree.root() == root(hashes)
    for m, n in [(1, 100_003), (65_536, 100_003), (99_999, 100_000), (77_777, 88_888)]:
        assert verify_consistency(m, n, tree.root(m), tree.root(n), tree.consistency_proof(m, n))
        assert verify_inclusion(
            hashes[m - 1], m - 1, n, tree.inclusion_proof(m - 1, n), tree.root(n)
        )
