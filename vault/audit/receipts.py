"""Receipts: one audit entry with its inclusion proof against a signed checkpoint, verifiable offline.

A receipt is JSON::

    {"format": "citizen-vault/audit-receipt/v1", "origin": "<log origin>", "note_verifier": "<the log's key>",
     "seq": 42, "entry": "<base64 of the canonical entry: the Merkle leaf>", "checkpoint": "<signed note>",
     "tree_size": 57, "inclusion_proof": ["<base64 hash>", ...]}

Checking one needs only the log's key, pinned out of band (`GET /api/v1/audit/key`): the checkpoint's signature,
then the RFC 9162 inclusion of `SHA-256(0x00 || entry)` at `seq` in the checkpoint's tree.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import merkle
from vault.audit.errors import AuditNotFound
from vault.audit.log import AuditLog, Entry
from vault.audit.note import NoteError, open_checkpoint, parse_note_verifier
from vault.audit.verify import pinned_key

__all__ = ("RECEIPT_FORMAT", "ReceiptVerdict", "build_receipt", "main", "verify_receipt")

RECEIPT_FORMAT = "citizen-vault/audit-receipt/v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def build_receipt(log: AuditLog, session: AsyncSession, entry: Entry) -> dict[str, Any]:
    """The receipt of a sequenced `entry`, against the log's latest signed head (which covers every entry
    sequenced so far: the integrator signs a head after each batch).

    Raises:
        AuditNotFound: No head is signed yet, or it does not cover the entry yet.
    """
    head = await log.head(session)
    if head is None or head.tree_size <= entry.seq:
        raise AuditNotFound("the entry is not covered by a signed checkpoint yet; try again in a moment")
    proof = await log.inclusion_proof(session, entry.seq, head.tree_size)
    return {
        "format": RECEIPT_FORMAT,
        "origin": log.origin,
        "note_verifier": log.note_verifier,
        "seq": entry.seq,
        "entry": _b64(entry.canonical),
        "checkpoint": head.note,
        "tree_size": head.tree_size,
        "inclusion_proof": [_b64(h) for h in proof],
    }


@dataclass(frozen=True)
class ReceiptVerdict:
    """Whether a receipt verifies, why not, and the entry it proves (decoded) when it does."""

    ok: bool
    reason: str
    record: Mapping[str, Any] | None = None


def _decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{what} is not base64") from exc


def verify_receipt(receipt: Mapping[str, Any], trusted_key: str) -> ReceiptVerdict:
    """Check a receipt against the log's pinned verifier key (`<origin>+<hash>+<base64 key>`)."""
    try:
        name, public_key = parse_note_verifier(trusted_key)
        if receipt.get("format") != RECEIPT_FORMAT:
            raise ValueError(f"not a receipt ({RECEIPT_FORMAT})")
        body = open_checkpoint(str(receipt.get("checkpoint", "")), name, public_key)
        canonical = _decode(receipt.get("entry"), "entry")
        proof = [_decode(h, "inclusion_proof") for h in receipt.get("inclusion_proof") or []]
        seq = receipt.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("seq is missing")
        record = json.loads(canonical)
    except NoteError as exc:
        return ReceiptVerdict(False, f"the checkpoint is not signed by the trusted key: {exc}")
    except ValueError as exc:
        return ReceiptVerdict(False, f"malformed receipt: {exc}")
    if not isinstance(record, dict) or record.get("seq") != seq:
        return ReceiptVerdict(False, "the entry's own sequence number is not the receipt's")
    if not merkle.verify_inclusion(merkle.leaf_hash(canonical), seq, body.tree_size, proof, body.root_hash):
        return ReceiptVerdict(False, f"entry {seq} is not in the signed tree of {body.tree_size} entries")
    return ReceiptVerdict(True, f"entry {seq} is in the log {body.origin} (signed tree of {body.tree_size})", record)


def main(argv: Sequence[str] | None = None) -> int:
    """`vault audit verify-receipt RECEIPT --key KEY`: exit 0 when it verifies, 1 when not, 2 when unreadable."""
    parser = argparse.ArgumentParser(prog="vault audit verify-receipt", description="Verify an audit receipt offline.")
    parser.add_argument("receipt", type=Path, help="the receipt (JSON)")
    parser.add_argument(
        "--key", required=True, help="the log's note verifier key: the string, or the JSON of GET /api/v1/audit/key"
    )
    args = parser.parse_args(argv)
    try:
        receipt = json.loads(args.receipt.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"ERROR: cannot read {args.receipt}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(receipt, dict):
        print(f"ERROR: {args.receipt} is not a receipt", file=sys.stderr)
        return 2
    verdict = verify_receipt(receipt, pinned_key(args.key))
    if verdict.ok and verdict.record is not None:
        print(f"OK: {verdict.reason}: {verdict.record.get('action')} at {verdict.record.get('time')}")
        return 0
    print(f"FAILED: {verdict.reason}")
    return 1
