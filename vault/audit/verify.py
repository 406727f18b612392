"""Offline verification of an exported audit bundle: no database, no network, only the bundle and a key.

Checks, in this order: the key, every checkpoint signature, consistency between consecutive checkpoints,
then each entry (contiguous positions, the `seq` inside the canonical bytes, canonical RFC 8785 form,
non-decreasing time) and finally that the entries recompute every signed root. The verdict names the first
bad log index it can prove.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import itertools
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.audit import merkle
from vault.audit.bundle import BUNDLE_FORMAT, exported_columns
from vault.audit.canonical import canonical_json
from vault.audit.entry import parse_time
from vault.audit.note import CheckpointBody, NoteError, open_checkpoint, public_key_note_verifier

__all__ = ("BundleVerdict", "main", "verify_bundle")

_NO_HASH = b"\x00" * merkle.HASH_SIZE


@dataclass(frozen=True)
class BundleVerdict:
    """The bottom line of a bundle verification.

    Attributes:
        ok: True only when every check passed.
        checked_entries: entries proven good (all of them when `ok`, those before the first bad index else).
        first_bad_index: the log index of the first entry that is missing, changed or out of place.
        problem: what went wrong, for humans.
    """

    ok: bool
    checked_entries: int
    first_bad_index: int | None
    problem: str | None


class _Rejected(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class _Finding:
    index: int
    problem: str


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise _Rejected(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise _Rejected(f"{what} is not valid base64") from exc


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Rejected(f"{what} is not a non-negative integer")
    return value


def _public_key(bundle: Mapping[str, Any], origin: str, trusted_key: str | None) -> Ed25519PublicKey:
    try:
        key = Ed25519PublicKey.from_public_bytes(_b64(bundle.get("public_key"), "public_key"))
    except ValueError as exc:
        raise _Rejected("public_key is not an Ed25519 key") from exc
    verifier = public_key_note_verifier(origin, key)
    if bundle.get("note_verifier", verifier) != verifier:
        raise _Rejected("note_verifier does not match public_key")
    if trusted_key is not None and trusted_key != verifier:
        raise _Rejected(f"the bundle is signed by {verifier}, not by the trusted key {trusted_key}")
    return key


def _checkpoints(bundle: Mapping[str, Any], origin: str, key: Ed25519PublicKey) -> list[CheckpointBody]:
    by_size: dict[int, CheckpointBody] = {}
    for position, item in enumerate(bundle.get("checkpoints") or []):
        try:
            body = open_checkpoint(str(item["note"]), origin, key)
        except (NoteError, KeyError, TypeError) as exc:
            raise _Rejected(f"checkpoint #{position}: {exc}") from exc
        if body.origin != origin:
            raise _Rejected(f"checkpoint #{position} belongs to log {body.origin!r}, not {origin!r}")
        if "tree_size" in item and item["tree_size"] != body.tree_size:
            raise _Rejected(f"checkpoint #{position}: tree_size differs from its signed note")
        seen = by_size.setdefault(body.tree_size, body)
        if seen.root_hash != body.root_hash:
            raise _Rejected(f"two signed checkpoints of size {body.tree_size} differ: the log forked")
    if not by_size:
        raise _Rejected("the bundle has no signed checkpoint to verify against")
    return [by_size[size] for size in sorted(by_size)]


def _check_consistency(bundle: Mapping[str, Any], checkpoints: list[CheckpointBody], start: int) -> _Finding | None:
    """Check the proofs linking consecutive checkpoints; a broken link is a finding at the older size."""
    proofs: dict[tuple[int, int], list[bytes]] = {}
    for item in bundle.get("consistency_proofs") or []:
        pair = (_int(item.get("first"), "consistency first"), _int(item.get("second"), "consistency second"))
        proofs[pair] = [_b64(h, "consistency proof hash") for h in item.get("proof") or []]
    for older, newer in itertools.pairwise(checkpoints):
        proof = proofs.get((older.tree_size, newer.tree_size))
        if proof is None:
            if older.tree_size < start:
                raise _Rejected(f"checkpoint {older.tree_size} precedes the entries and no proof links it")
            continue  # both roots are recomputed from the entries below
        if not merkle.verify_consistency(older.tree_size, newer.tree_size, proof, older.root_hash, newer.root_hash):
            problem = f"checkpoints {older.tree_size} and {newer.tree_size} are inconsistent: the log was rewritten"
            if older.tree_size < start:
                raise _Rejected(problem)
            return _Finding(older.tree_size, problem)
    return None


def _entry_problem(item: object, expected: int, previous: datetime | None) -> tuple[bytes, str | None, datetime | None]:
    """Decode one entry: its leaf bytes, the first problem with it, and its time."""
    if not isinstance(item, Mapping):
        return b"", "the entry is not an object", previous
    try:
        raw = _b64(item.get("canonical"), "canonical")
    except _Rejected as exc:
        return b"", exc.problem, previous
    problem, moment = _record_problem(raw, item.get("seq"), expected, previous)
    if problem is None and item.get("columns") is not None:
        try:
            columns_agree = item["columns"] == exported_columns(raw)
        except (KeyError, TypeError, ValueError):
            return raw, "the entry is not a well-formed audit record", moment
        if not columns_agree:
            problem = "the row's filter columns disagree with the entry (edited in the database)"
    return raw, problem, moment


def _record_problem(
    raw: bytes, stored_seq: object, expected: int, previous: datetime | None
) -> tuple[str | None, datetime | None]:
    if stored_seq != expected:
        return f"expected entry {expected} here, found {stored_seq} (deleted, inserted or moved)", previous
    try:
        record = json.loads(raw)
        moment = parse_time(record["time"])
        canonical = canonical_json(record) == raw
    except (ValueError, KeyError, TypeError, rfc8785.CanonicalizationError):
        return "the entry is not a well-formed canonical record", previous
    checks = (
        (not canonical, "the entry is not in RFC 8785 canonical form"),
        (record.get("seq") != expected, f"the record says it is entry {record.get('seq')}, but it sits at {expected}"),
        (previous is not None and moment < previous, "time goes backwards at this entry"),
    )
    return next((text for failed, text in checks if failed), None), moment


def _scan(entries: Sequence[Any], start: int) -> tuple[list[bytes], _Finding | None]:
    computed: list[bytes] = []
    first: _Finding | None = None
    previous: datetime | None = None
    for position, item in enumerate(entries):
        raw, problem, previous = _entry_problem(item, start + position, previous)
        computed.append(merkle.leaf_hash(raw))
        if problem is not None and first is None:
            first = _Finding(start + position, problem)
    return computed, first


def _recorded_leaves(bundle: Mapping[str, Any], count: int) -> list[bytes]:
    """The tree's own leaf hashes, padded so a missing one can never match."""
    recorded = []
    for value in list(bundle.get("tree_leaf_hashes") or [])[:count]:
        try:
            digest = _b64(value, "tree leaf hash")
        except _Rejected:
            digest = _NO_HASH
        recorded.append(digest if len(digest) == merkle.HASH_SIZE else _NO_HASH)
    return recorded + [_NO_HASH] * (count - len(recorded))


def _first_root_mismatch(
    start: int, prefix: list[bytes], leaves: list[bytes], checkpoints: list[CheckpointBody]
) -> tuple[int, CheckpointBody] | None:
    """The first checkpoint whose root the leaves do not reproduce, with the last size that matched."""
    compact = merkle.CompactRange(start, prefix)
    matched = start
    for checkpoint in checkpoints:
        if not start <= checkpoint.tree_size <= start + len(leaves):
            continue
        while compact.size < checkpoint.tree_size:
            compact.append(leaves[compact.size - start])
        if compact.root() != checkpoint.root_hash:
            return matched, checkpoint
        matched = checkpoint.tree_size
    return None


def _root_finding(
    start: int, prefix: list[bytes], computed: list[bytes], recorded: list[bytes], checkpoints: list[CheckpointBody]
) -> _Finding | None:
    mismatch = _first_root_mismatch(start, prefix, computed, checkpoints)
    if mismatch is None:
        return None
    matched, checkpoint = mismatch
    record_mismatch = _first_root_mismatch(start, prefix, recorded, checkpoints)
    if record_mismatch is None or record_mismatch[1].tree_size > checkpoint.tree_size:
        # The tree's own record of the leaves is authentic (it reproduces the signed root), so it names the entry.
        for position in range(matched - start, checkpoint.tree_size - start):
            if computed[position] != recorded[position]:
                return _Finding(start + position, "the entry was changed after it was logged")
    return _Finding(
        matched,
        f"entries {matched}..{checkpoint.tree_size - 1} do not reproduce signed checkpoint {checkpoint.tree_size}",
    )


def _coverage_finding(start: int, count: int, checkpoints: list[CheckpointBody]) -> _Finding | None:
    largest = checkpoints[-1].tree_size
    if largest > start + count:
        return _Finding(
            start + count,
            f"signed checkpoint {largest} covers entries {start + count}.."
            f"{largest - 1} that are missing (truncated log)",
        )
    if largest < start + count:
        return _Finding(largest, "entries after the last signed checkpoint are not covered by any signature")
    return None


def verify_bundle(bundle: Mapping[str, Any], *, trusted_key: str | None = None) -> BundleVerdict:
    """Verify an exported audit bundle offline.

    Args:
        bundle: the decoded JSON bundle (see `vault.audit.bundle`).
        trusted_key: the log's verifier key string obtained out of band; without it the verdict only shows
            the bundle is consistent with the key it carries.

    Returns:
        The verdict; malformed input is a failed verdict, not an exception.
    """
    try:
        if bundle.get("format") != BUNDLE_FORMAT:
            raise _Rejected(f"not a {BUNDLE_FORMAT} bundle")
        origin = str(bundle.get("origin"))
        key = _public_key(bundle, origin, trusted_key)
        checkpoints = _checkpoints(bundle, origin, key)
        start = _int(bundle.get("start"), "start")
        broken_link = _check_consistency(bundle, checkpoints, start)
        prefix = [_b64(h, "prefix hash") for h in bundle.get("prefix") or []]
        merkle.CompactRange(start, prefix)  # validates the prefix shape
        entries = list(bundle.get("entries") or [])
    except (_Rejected, ValueError, TypeError, AttributeError) as exc:
        problem = exc.problem if isinstance(exc, _Rejected) else f"malformed bundle: {exc}"
        return BundleVerdict(ok=False, checked_entries=0, first_bad_index=None, problem=problem)
    computed, structural = _scan(entries, start)
    recorded = _recorded_leaves(bundle, len(computed))
    findings = [
        f
        for f in (
            structural,
            _coverage_finding(start, len(entries), checkpoints),
            _root_finding(start, prefix, computed, recorded, checkpoints),
            broken_link,
        )
        if f is not None
    ]
    if not findings:
        return BundleVerdict(ok=True, checked_entries=len(entries), first_bad_index=None, problem=None)
    first = min(findings, key=lambda finding: finding.index)
    return BundleVerdict(
        ok=False, checked_entries=first.index - start, first_bad_index=first.index, problem=first.problem
    )


def pinned_key(value: str) -> str:
    """The verifier key from `--key`: the string itself, or the `note_verifier` of a JSON file holding it."""
    path = Path(value)
    if not value.startswith("{") and path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return value
        if isinstance(document, Mapping) and isinstance(document.get("note_verifier"), str):
            return str(document["note_verifier"])
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """`vault audit verify BUNDLE [--key VERIFIER]`: print one verdict line; exit 0 only when the bundle verifies.

    Exit codes: 0 verified, 1 verification failed, 2 the bundle could not be read.
    """
    parser = argparse.ArgumentParser(prog="vault audit verify", description="Verify an audit bundle offline.")
    parser.add_argument("bundle", type=Path, help="the exported bundle (JSON)")
    parser.add_argument(
        "--key",
        help="the pinned note verifier key: the string, or the JSON file GET /api/v1/audit/key returns",
    )
    parser.add_argument(
        "--unpinned",
        action="store_true",
        help="trust the key inside the bundle (proves only that the bundle is consistent with itself)",
    )
    args = parser.parse_args(argv)
    if not args.key and not args.unpinned:
        print(
            "ERROR: give the log's pinned key with --key (from GET /api/v1/audit/key, fetched out of band); "
            "--unpinned trusts the bundle's own key and proves only self-consistency",
            file=sys.stderr,
        )
        return 2
    key = pinned_key(args.key) if args.key else None
    try:
        bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"ERROR: cannot read {args.bundle}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(bundle, Mapping):
        print(f"ERROR: {args.bundle} is not a JSON object", file=sys.stderr)
        return 2
    verdict = verify_bundle(bundle, trusted_key=key)
    if verdict.ok:
        print(f"OK: {verdict.checked_entries} entries verified against signed checkpoints of {bundle['origin']}")
        return 0
    where = "" if verdict.first_bad_index is None else f" at entry {verdict.first_bad_index}"
    print(f"FAILED{where}: {verdict.problem}")
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
