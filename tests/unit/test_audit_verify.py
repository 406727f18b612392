"""The offline verifier on bundles built in memory: verdicts for good, malformed and tampered input; the CLI."""

from __future__ import annotations

import base64
import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit import AuditAction, AuditEvent, Outcome, generate_signing_key, merkle, public_key_note_verifier
from vault.audit.bundle import BUNDLE_FORMAT
from vault.audit.entry import canonical_entry
from vault.audit.note import checkpoint_body, public_key_bytes, sign_note
from vault.audit.verify import main, verify_bundle

ORIGIN = "unit.test/audit"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_bundle(key: Ed25519PrivateKey, size: int = 10, checkpoint_sizes: tuple[int, ...] = (4, 10)) -> dict[str, Any]:
    """A bundle as the exporter writes it, built from the pure functions only."""
    leaves = [
        canonical_entry(i, T0 + timedelta(seconds=i), AuditEvent(AuditAction.DOCUMENT_READ, Outcome.SUCCESS))
        for i in range(size)
    ]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    checkpoints = []
    for tree_size in checkpoint_sizes:
        root = merkle.root(hashes[:tree_size])
        note = sign_note(checkpoint_body(ORIGIN, tree_size, root), ORIGIN, key)
        checkpoints.append({"tree_size": tree_size, "root_hash": _b64(root), "note": note})
    proofs = [
        {"first": a, "second": b, "proof": [_b64(h) for h in merkle.consistency_proof(a, hashes[:b])]}
        for a, b in itertools.pairwise(checkpoint_sizes)
    ]
    return {
        "format": BUNDLE_FORMAT,
        "origin": ORIGIN,
        "public_key": _b64(public_key_bytes(key)),
        "note_verifier": public_key_note_verifier(ORIGIN, key),
        "start": 0,
        "end": size,
        "prefix": [],
        "checkpoints": checkpoints,
        "consistency_proofs": proofs,
        "entries": [{"seq": i, "canonical": _b64(leaf)} for i, leaf in enumerate(leaves)],
        "tree_leaf_hashes": [_b64(h) for h in hashes],
    }


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_signing_key()


def test_a_good_bundle_verifies(key: Ed25519PrivateKey) -> None:
    verdict = verify_bundle(build_bundle(key), trusted_key=public_key_note_verifier(ORIGIN, key))
    assert (verdict.ok, verdict.checked_entries, verdict.first_bad_index, verdict.problem) == (True, 10, None, None)


def _set_entry(bundle: dict[str, Any], index: int, **changes: Any) -> None:
    record = json.loads(base64.b64decode(bundle["entries"][index]["canonical"]))
    record.update(changes)
    bundle["entries"][index]["canonical"] = _b64(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("mutate", "first_bad", "words"),
    [
        (lambda b: _set_entry(b, 6, outcome="denied"), 6, "changed"),
        (lambda b: _set_entry(b, 3, time="2026-11-28T11:00:00.000000Z"), 3, "time goes backwards"),
        (lambda b: b["entries"].pop(2), 2, "expected entry 2"),
        (lambda b: b["entries"].insert(2, copy.deepcopy(b["entries"][2])), 3, "expected entry 3"),
        (lambda b: b["entries"].__setitem__(slice(7, 9), b["entries"][8:6:-1]), 7, "expected entry 7"),
        (lambda b: b["entries"].__delitem__(slice(8, None)), 8, "missing"),
        (lambda b: b["entries"][5].__setitem__("canonical", _b64(b'{"seq": 5}')), 5, "canonical"),
        (lambda b: b["entries"][1].__setitem__("canonical", "***"), 1, "base64"),
    ],
    ids=["edited", "backdated", "deleted", "duplicated", "swapped", "truncated", "not-canonical", "not-base64"],
)
def test_tampered_entries_are_named(key: Ed25519PrivateKey, mutate: Any, first_bad: int, words: str) -> None:
    bundle = build_bundle(key)
    mutate(bundle)
    verdict = verify_bundle(bundle)
    assert (verdict.ok, verdict.first_bad_index) == (False, first_bad), verdict.problem
    assert words in str(verdict.problem)


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda b: b.__setitem__("format", "other"), "not a"),
        (lambda b: b.__setitem__("public_key", _b64(b"short")), "Ed25519"),
        (lambda b: b.__setitem__("note_verifier", "x+00000000+AA=="), "note_verifier"),
        (lambda b: b.__setitem__("checkpoints", []), "no signed checkpoint"),
        (
            lambda b: b["checkpoints"][1].__setitem__("note", b["checkpoints"][1]["note"].replace("\n10\n", "\n9\n")),
            "signature",
        ),
        (lambda b: b["checkpoints"][1].__setitem__("tree_size", 9), "tree_size"),
        (lambda b: b.__setitem__("start", -1), "non-negative"),
        (lambda b: b.__setitem__("prefix", [_b64(bytes(32))]), "compact range"),
        (lambda b: b.__setitem__("entries", 5), "malformed"),
    ],
    ids=[
        "format",
        "public-key",
        "verifier-key",
        "no-checkpoint",
        "forged-note",
        "size-field",
        "start",
        "prefix",
        "entries",
    ],
)
def test_malformed_or_forged_bundles_fail_without_an_index(key: Ed25519PrivateKey, mutate: Any, words: str) -> None:
    bundle = build_bundle(key)
    mutate(bundle)
    verdict = verify_bundle(bundle)
    assert (verdict.ok, verdict.first_bad_index, verdict.checked_entries) == (False, None, 0)
    assert words in str(verdict.problem)


def test_a_bundle_signed_by_another_key_fails_against_the_trusted_key(key: Ed25519PrivateKey) -> None:
    impostor = generate_signing_key()
    verdict = verify_bundle(build_bundle(impostor), trusted_key=public_key_note_verifier(ORIGIN, key))
    assert not verdict.ok
    assert "not by the trusted key" in str(verdict.problem)


def test_a_fork_between_two_checkpoints_of_one_size_is_reported(key: Ed25519PrivateKey) -> None:
    bundle = build_bundle(key)
    forged_root = bytes(32)
    bundle["checkpoints"].append({"note": sign_note(checkpoint_body(ORIGIN, 10, forged_root), ORIGIN, key)})
    assert "forked" in str(verify_bundle(bundle).problem)


def test_the_cli_exits_zero_only_for_a_good_bundle(
    key: Ed25519PrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(build_bundle(key)))
    tampered = build_bundle(key)
    _set_entry(tampered, 4, action="document.erase")
    bad.write_text(json.dumps(tampered))
    pinned = ["--key", public_key_note_verifier(ORIGIN, key)]
    assert main([str(good), *pinned]) == 0
    assert capsys.readouterr().out.startswith("OK: 10 entries")
    assert main([str(bad), *pinned]) == 1
    assert capsys.readouterr().out.startswith("FAILED at entry 4:")
    assert main([str(tmp_path / "missing.json"), *pinned]) == 2
    (tmp_path / "list.json").write_text("[]")
    assert main([str(tmp_path / "list.json"), *pinned]) == 2


def test_the_cli_wants_a_pinned_key_or_says_it_trusts_the_bundle(
    key: Ed25519PrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(build_bundle(key)))
    assert main([str(good)]) == 2
    assert "--key" in capsys.readouterr().err
    assert main([str(good), "--unpinned"]) == 0
    impostor = Ed25519PrivateKey.generate()
    assert main([str(good), "--key", public_key_note_verifier(ORIGIN, impostor)]) == 1
    key_file = tmp_path / "key.json"  # what GET /api/v1/audit/key returns
    key_file.write_text(json.dumps({"note_verifier": public_key_note_verifier(ORIGIN, key)}))
    assert main([str(good), "--key", str(key_file)]) == 0


def _between(bundle: dict[str, Any], first: int, second: int) -> dict[str, Any]:
    (proof,) = [p for p in bundle["consistency_proofs"] if (p["first"], p["second"]) == (first, second)]
    return proof  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda proof: proof.__setitem__("proof", list(reversed(proof["proof"]))),
        lambda proof: proof.__setitem__("proof", proof["proof"][:-1]),
        lambda proof: proof.__setitem__("proof", [_b64(bytes(32)), *proof["proof"][1:]]),
        lambda proof: proof.__setitem__("proof", [*proof["proof"], _b64(bytes(32))]),
    ],
    ids=["reordered", "shortened", "wrong-hash", "lengthened"],
)
def test_a_wrong_consistency_proof_between_two_checkpoints_fails(key: Ed25519PrivateKey, corrupt: Any) -> None:
    """Offline: the entries after `start` match both roots, yet a wrong proof linking them is reported."""
    bundle = build_bundle(key, size=13, checkpoint_sizes=(5, 13))
    assert verify_bundle(bundle).ok
    corrupt(_between(bundle, 5, 13))
    verdict = verify_bundle(bundle)
    assert not verdict.ok
    assert "inconsistent" in str(verdict.problem)
    assert verdict.first_bad_index == 5


def test_a_wrong_consistency_proof_before_the_exported_entries_rejects_the_bundle(key: Ed25519PrivateKey) -> None:
    """When the older checkpoint precedes the exported entries, only the proof links it: a wrong one is fatal."""
    full = build_bundle(key, size=13, checkpoint_sizes=(3, 6, 13))
    hashes = [merkle.leaf_hash(base64.b64decode(e["canonical"])) for e in full["entries"]]
    start = 6
    partial = dict(
        full,
        start=start,
        prefix=[_b64(merkle.root(hashes[i << lvl : (i + 1) << lvl])) for lvl, i in merkle.perfect_subtrees(0, start)],
        entries=full["entries"][start:],
        tree_leaf_hashes=full["tree_leaf_hashes"][start:],
        consistency_proofs=[copy.deepcopy(_between(full, 3, 6)), _between(full, 6, 13)],
    )
    assert verify_bundle(partial).ok
    partial["consistency_proofs"][0]["proof"] = list(reversed(partial["consistency_proofs"][0]["proof"]))
    verdict = verify_bundle(partial)
    assert (verdict.ok, verdict.first_bad_index) == (False, None)
    assert "inconsistent" in str(verdict.problem)
