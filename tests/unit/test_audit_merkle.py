"""RFC 9162 / RFC 6962 Merkle hashing: reference vectors and properties of inclusion and consistency proofs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.audit import merkle

# The 8-leaf reference tree of certificate-transparency / trillian (merkle/testonly/constants.go) and the
# proofs of transparency-dev/merkle (proof/verify_test.go; their leaf numbers are 1-based, ours 0-based).
LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
LEAF_HASHES = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = {
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
}


def _h(*names: str) -> list[bytes]:
    known = {**H, **{h.hex()[:4]: h.hex() for h in LEAF_HASHES}}
    return [bytes.fromhex(known[name]) for name in names]


INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, _h("96a2", "5f08", "6b47")),
    (5, 8, _h("bc1a", "ca85", "d37e")),
    (2, 3, _h("fac5")),
    (1, 5, _h("6e34", "5f08", "bc1a")),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, _h("96a2", "5f08", "6b47")),
    (6, 8, _h("0ebc", "ca85", "d37e")),
    (2, 5, _h("5f08", "bc1a")),
    (6, 7, _h("0ebc", "b086", "d37e")),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_leaf_hashes_match_the_reference_tree() -> None:
    assert [merkle.leaf_hash(leaf) for leaf in LEAVES] == LEAF_HASHES


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix_matches_the_reference(size: int) -> None:
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[bytes]) -> None:
    assert merkle.inclusion_proof(index, LEAF_HASHES[:size]) == proof
    assert merkle.verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_reference(first: int, second: int, proof: list[bytes]) -> None:
    assert merkle.consistency_proof(first, LEAF_HASHES[:second]) == proof
    assert merkle.verify_consistency(first, second, proof, ROOTS[first], ROOTS[second])


def _corrupted_inclusions(index: int, size: int, proof: list[bytes]) -> list[tuple[str, tuple]]:
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    probes = [
        ("index - 1", (leaf, index - 1, size, proof, root)),
        ("index + 1", (leaf, index + 1, size, proof, root)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, root)),
        ("size * 2", (leaf, index, size * 2, proof, root)),
        ("size // 2", (leaf, index, size // 2, proof, root)),
        ("wrong leaf", (merkle.leaf_hash(b"WrongLeaf"), index, size, proof, root)),
        ("empty root", (leaf, index, size, proof, merkle.EMPTY_ROOT)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*proof, b""], root)),
        ("trailing root", (leaf, index, size, [*proof, root], root)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], root)),
        ("preceding root", (leaf, index, size, [root, *proof], root)),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((f"bit flip in proof[{i}]", (leaf, index, size, flipped, root)))
    if proof:
        probes.append(("removed component", (leaf, index, size, proof[:-1], root)))
    if len(proof) > 1:
        probes.append(("inserted component", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS[1:])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[bytes]) -> None:
    accepted = [name for name, args in _corrupted_inclusions(index, size, proof) if merkle.verify_inclusion(*args)]
    assert accepted == []


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS[1:])
def test_corrupted_consistency_proofs_fail(first: int, second: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[first], ROOTS[second]
    probes = {
        "first - 1": (first - 1, second, proof, r1, r2),
        "first + 1": (first + 1, second, proof, r1, r2),
        "first ^ 2": (first ^ 2, second, proof, r1, r2),
        "second * 2": (first, second * 2, proof, r1, r2),
        "second // 2": (first, second // 2, proof, r1, r2),
        "wrong first root": (first, second, proof, SOME_HASH, r2),
        "wrong second root": (first, second, proof, r1, SOME_HASH),
        "swapped roots": (first, second, proof, r2, r1),
        "empty proof": (first, second, [], r1, r2),
        "trailing root": (first, second, [*proof, r2], r1, r2),
        "preceding root": (first, second, [r1, *proof], r1, r2),
        "preceding proof[0]": (first, second, [proof[0], *proof], r1, r2),
        "truncated proof": (first, second, proof[:-1], r1, r2),
    }
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes[f"bit flip in proof[{i}]"] = (first, second, flipped, r1, r2)
    accepted = [name for name, args in probes.items() if merkle.verify_consistency(*args)]
    assert accepted == []


@pytest.mark.parametrize(
    ("first", "second", "proof", "first_root", "second_root", "expected"),
    [
        (0, 0, [], ROOTS[0], ROOTS[0], True),
        (0, 5, [], ROOTS[0], ROOTS[5], True),
        (3, 3, [], ROOTS[3], ROOTS[3], True),
        (3, 3, [], ROOTS[3], ROOTS[4], False),
        (3, 3, [ROOTS[0]], ROOTS[3], ROOTS[3], False),
        (0, 1, [ROOTS[0]], ROOTS[0], ROOTS[1], False),
        (2, 1, [], ROOTS[2], ROOTS[1], False),
        (1, 2, [], ROOTS[1], ROOTS[2], False),
    ],
    ids=[
        "empty-trees",
        "from-empty",
        "same-size",
        "same-size-other-root",
        "same-size-with-proof",
        "from-empty-with-proof",
        "shrinking",
        "missing-proof",
    ],
)
def test_consistency_edge_cases(
    first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes, expected: bool
) -> None:
    assert merkle.verify_consistency(first, second, proof, first_root, second_root) is expected


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (-1, 3), (3, 3)])
def test_inclusion_outside_the_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_ranges(index, size)
    assert not merkle.verify_inclusion(LEAF_HASHES[0], index, size, [], ROOTS[1])


def _tree(size: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=300))
def test_every_inclusion_proof_verifies_and_a_wrong_one_fails(data: st.DataObject, size: int) -> None:
    leaves = _tree(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index)) if size > 1 else None
    head = merkle.root(leaves)
    proof = merkle.inclusion_proof(index, leaves)
    assert len(proof) <= size.bit_length()
    assert merkle.verify_inclusion(leaves[index], index, size, proof, head)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"not a leaf"), index, size, proof, head)
    assert not merkle.verify_inclusion(leaves[index], index, size, proof, merkle.root([*leaves[:-1], SOME_HASH]))
    if other is not None:
        assert not merkle.verify_inclusion(leaves[index], other, size, proof, head)
        assert not merkle.verify_inclusion(leaves[other], index, size, proof, head)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), second=st.integers(min_value=1, max_value=300))
def test_every_consistency_proof_verifies_and_a_wrong_root_fails(data: st.DataObject, second: int) -> None:
    leaves = _tree(second)
    first = data.draw(st.integers(min_value=1, max_value=second))
    r1, r2 = merkle.root(leaves[:first]), merkle.root(leaves)
    proof = merkle.consistency_proof(first, leaves)
    assert merkle.verify_consistency(first, second, proof, r1, r2)
    if first < second:
        forked = merkle.root([*leaves[: first - 1], SOME_HASH])
        assert not merkle.verify_consistency(first, second, proof, forked, r2)
        assert not merkle.verify_consistency(first, second, proof, r1, merkle.root([*leaves[:-1], SOME_HASH]))
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 1]) + flipped[position][1:]
        assert not merkle.verify_consistency(first, second, flipped, r1, r2)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), size=st.integers(min_value=0, max_value=300))
def test_a_compact_prefix_plus_the_remaining_leaves_gives_the_root(data: st.DataObject, size: int) -> None:
    leaves = _tree(size)
    start = data.draw(st.integers(min_value=0, max_value=size))
    prefix = [merkle.root(leaves[idx << lvl : (idx + 1) << lvl]) for lvl, idx in merkle.perfect_subtrees(0, start)]
    compact = merkle.CompactRange(start, prefix)
    for index, leaf in enumerate(leaves[start:], start=start):
        completed = compact.append(leaf)
        # each completed subtree is the perfect subtree that ends at this leaf, level 1 upwards
        for level, digest in enumerate(completed, start=1):
            first = index + 1 - (1 << level)
            assert first % (1 << level) == 0
            assert digest == merkle.root(leaves[first : index + 1])
        assert len(completed) == ((index + 1) & -(index + 1)).bit_length() - 1
    assert compact.root() == merkle.root(leaves)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=300))
def test_proof_ranges_compose_from_few_perfect_subtrees(data: st.DataObject, size: int) -> None:
    leaves = _tree(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    first = data.draw(st.integers(min_value=1, max_value=size))

    def composed(ranges: list[tuple[int, int]]) -> list[bytes]:
        return [
            merkle.fold_subtrees(
                [merkle.root(leaves[i << lvl : (i + 1) << lvl]) for lvl, i in merkle.perfect_subtrees(lo, hi)]
            )
            for lo, hi in ranges
        ]

    inclusion = merkle.inclusion_ranges(index, size)
    consistency = merkle.consistency_ranges(first, size)
    assert composed(inclusion) == merkle.inclusion_proof(index, leaves)
    assert composed(consistency) == merkle.consistency_proof(first, leaves)
    pieces = sum(len(merkle.perfect_subtrees(lo, hi)) for lo, hi in inclusion + consistency)
    assert pieces <= 4 * size.bit_length()
