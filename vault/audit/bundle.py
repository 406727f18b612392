"""The offline-verifiable audit bundle: its format, and the filter columns an entry implies (pure: no database).

Bundle fields (JSON; binary values are standard base64), written by `vault.audit.export`:
    format: `BUNDLE_FORMAT`.
    origin, public_key (raw Ed25519), note_verifier (the signed-note verifier key string).
    start, end: the entries exported are `[start, end)` (those present in the database).
    prefix: hashes of the perfect subtrees covering `[0, start)`, so roots can be recomputed from `start` on.
    checkpoints: the signed checkpoints with `start <= tree_size <= end` (`tree_size`, `root_hash`, `note`):
        those kept in the history and the latest signed head.
    consistency_proofs: one per pair of consecutive checkpoints (`first`, `second`, `proof`).
    entries: `seq` (the stored position), `canonical` (the RFC 8785 leaf bytes) and `columns` (the row's
        filter columns as stored, which must agree with the canonical record, else filtered queries lie).
    tree_leaf_hashes: the leaf hashes the stored tree recorded for positions `[start, end)` when each entry
        was sequenced. When they reproduce the signed roots they are authentic, and the first position where
        an entry's hash differs from them is exactly the entry that was changed, deleted or moved.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from vault.audit import merkle

__all__ = ("BUNDLE_FORMAT", "b64", "exported_columns", "filter_columns")

BUNDLE_FORMAT = "citizen-vault/audit-bundle/v1"


def b64(data: bytes) -> str:
    """Standard base64 text of bytes."""
    return base64.b64encode(data).decode()


def _actor_ref(record: Mapping[str, Any]) -> str | None:
    # Entries written before actors were pseudonymised carry `actor.subject` and no `ref`: their column is NULL.
    ref = (record.get("actor") or {}).get("ref")
    return None if ref is None else str(ref)


def filter_columns(record: Mapping[str, Any]) -> dict[str, Any]:
    """The filter columns of an entry row, taken from its record (database types)."""
    document = record["objects"]["document"]
    return {
        "action": record["action"],
        "outcome": record["outcome"],
        "actor_ref": _actor_ref(record),
        "owner_ref": record["owner"],
        "document_id": None if document is None else UUID(document),
    }


def exported_columns(raw: bytes) -> dict[str, Any]:
    """The `columns` an exported entry must carry for these leaf bytes (JSON types, with time and leaf hash).

    Raises:
        KeyError, TypeError, ValueError: when the bytes are not a well-formed audit record.
    """
    record = json.loads(raw)
    document = record["objects"]["document"]
    return {
        "time": record["time"],
        "action": record["action"],
        "outcome": record["outcome"],
        "actor_ref": _actor_ref(record),
        "owner_ref": record["owner"],
        "document_id": None if document is None else str(document),
        "leaf_hash": b64(merkle.leaf_hash(raw)),
    }
