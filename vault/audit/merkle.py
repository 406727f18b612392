"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs (SHA-256), as pure functions.

Proofs are described twice: as the list of tree ranges `[start, end)` whose hashes make up the proof (so a
store can answer them from stored perfect subtrees), and as in-memory helpers over a list of leaf hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = (
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "consistency_ranges",
    "fold_subtrees",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root",
    "verify_consistency",
    "verify_inclusion",
)

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: `SHA-256(0x00 || data)`."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: `SHA-256(0x01 || left || right)`."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose `[start, end)` into aligned perfect subtrees, left to right.

    Args:
        start: first leaf index of the range.
        end: one past the last leaf index.

    Returns:
        `(level, index)` pairs: the subtree at `level` covers leaves `[index << level, (index + 1) << level)`.
    """
    nodes: list[tuple[int, int]] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length()
        while (1 << level) > end - start:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Hash a tree range from the hashes of its perfect subtrees (as given by `perfect_subtrees`).

    Valid for the ranges RFC 9162 proofs use: aligned perfect subtrees and the right edge `[k, n)` of a tree.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size` (RFC 9162 PATH).

    Raises:
        ValueError: when `index` is not inside the tree.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the consistency proof between sizes `first` and `second` (RFC 9162 PROOF).

    Raises:
        ValueError: when the sizes are not `0 <= first <= second`.
    """
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, whole = 0, second, True
    while True:
        if first - lo == hi - lo:
            if not whole:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if first - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    return ranges[::-1]


def _range_hash(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_range_hash(leaves, lo, lo + k), _range_hash(leaves, lo + k, hi))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree head (MTH) over leaf hashes; `EMPTY_ROOT` for no leaves."""
    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree over all `leaf_hashes` (in memory)."""
    return [_range_hash(leaf_hashes, lo, hi) for lo, hi in inclusion_ranges(index, len(leaf_hashes))]


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The consistency proof from the tree of the first `first` leaves to the tree over all of them."""
    return [_range_hash(leaf_hashes, lo, hi) for lo, hi in consistency_ranges(first, len(leaf_hashes))]


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2).

    Args:
        leaf: the leaf hash (not the leaf data).
        index: the leaf's position.
        size: the tree size the root belongs to.
        proof: the audit path, leaf to root.
        expected_root: the tree head to check against.

    Returns:
        True only when the proof leads from the leaf to `expected_root`.
    """
    if not (0 <= index < size and _well_formed(leaf, expected_root, *proof)):
        return False
    fn, sn, acc = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            acc = node_hash(sibling, acc)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            acc = node_hash(acc, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _equal(acc, expected_root)


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes) -> bool:
    """Check a consistency proof between two tree heads (RFC 9162 section 2.1.4.2).

    Returns:
        True only when the tree of size `first` is a prefix of the tree of size `second`.
    """
    if not (0 <= first <= second and _well_formed(first_root, second_root, *proof)):
        return False
    if first == second:
        return not proof and _equal(first_root, second_root)
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for item in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(item, fr), node_hash(item, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, item)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _equal(fr, first_root) and _equal(sr, second_root)


class CompactRange:
    """The perfect-subtree hashes of a tree prefix `[0, size)`; grows one leaf at a time in O(1) amortised.

    Args:
        size: how many leaves the given hashes cover.
        hashes: the hashes of `perfect_subtrees(0, size)`, left to right.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1") or not _well_formed(*hashes):
            raise ValueError(f"a compact range of size {size} needs {bin(size).count('1')} hashes")
        self.size = size
        self._hashes = list(hashes)

    def append(self, leaf: bytes) -> list[bytes]:
        """Add one leaf hash at position `size`.

        Returns:
            The hashes of the perfect subtrees this leaf completes, level 1 upwards: the subtree at level
            `k` (1-based position in the list) has index `(size_after >> k) - 1`.
        """
        self._hashes.append(leaf)
        completed: list[bytes] = []
        carry = self.size
        while carry & 1:
            right = self._hashes.pop()
            self._hashes[-1] = node_hash(self._hashes[-1], right)
            completed.append(self._hashes[-1])
            carry >>= 1
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The tree head of the leaves so far."""
        return fold_subtrees(self._hashes)
