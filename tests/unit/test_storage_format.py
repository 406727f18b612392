"""The suite-1 object format: known answers, and every kind of tampering CRYPTO.md lists is detected."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import (
    CHUNK_SIZE,
    HEADER_SIZE,
    IntegrityError,
    ObjectDecryptor,
    ObjectEncryptor,
    canonical_context,
    decrypt_object,
    encrypt_object,
    encrypted_size,
)

DEK = bytes(range(32))
SALT = bytes(range(100, 124))
CONTEXT = canonical_context("citizen-vault/object/v1", [("owner", "0b6f3c1e"), ("document", "d-1"), ("version", "v-1")])
OTHER_CONTEXT = canonical_context(
    "citizen-vault/object/v1", [("owner", "0b6f3c1e"), ("document", "d-2"), ("version", "v-1")]
)
SEALED = CHUNK_SIZE + 16
KAT_PLAINTEXT = b"Known answer: citizen vault, suite 1."
KAT_OBJECT = bytes.fromhex(
    "43564c54010100006465666768696a6b6c6d6e6f707172737475767778797a7bce234e659b35cf8a9d2c63c0d9564255fad071f2"
    "521e1754b2f153e335c871d3be9069d86b78431e285c43beac0c3af6541f318e8d34742278021e84821bf2f17f9b697c178f75e6"
    "42c1579f6be3cf80c64ee29603"
)
KAT_EMPTY = bytes.fromhex(
    "43564c54010100006465666768696a6b6c6d6e6f707172737475767778797a7bce234e659b35cf8a9d2c63c0d9564255fad071f2"
    "521e1754b2f153e335c871d394a18aeacd91a7535b49e384296c395f"
)
Context = tuple[str, list[tuple[str, str]]]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pattern(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def test_canonical_context_known_bytes() -> None:
    assert CONTEXT.hex() == (
        "0017636974697a656e2d7661756c742f6f626a6563742f763100056f776e6572000830623666336331650008646f63756d656e"
        "740003642d31000776657273696f6e0003762d31"
    )


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("d", [("ab", "c")]), ("d", [("a", "bc")])),
        (("d", [("a", "b"), ("c", "d")]), ("d", [("c", "d"), ("a", "b")])),
        (("d", []), ("e", [])),
    ],
)
def test_canonical_context_is_unambiguous(left: Context, right: Context) -> None:
    assert canonical_context(*left) != canonical_context(*right)


def test_known_answer_small_object() -> None:
    assert encrypt_object(DEK, CONTEXT, KAT_PLAINTEXT, salt=SALT) == KAT_OBJECT
    assert decrypt_object(DEK, CONTEXT, KAT_OBJECT) == KAT_PLAINTEXT


def test_known_answer_empty_object() -> None:
    assert encrypt_object(DEK, CONTEXT, b"", salt=SALT) == KAT_EMPTY
    assert decrypt_object(DEK, CONTEXT, KAT_EMPTY) == b""


def test_known_answer_two_chunks() -> None:
    blob = encrypt_object(DEK, CONTEXT, pattern(CHUNK_SIZE + 7), salt=SALT)
    assert len(blob) == 65639
    assert hashlib.sha256(blob).hexdigest() == "13c016d6b52346cdf1fefd15ad6856586c79fb9cb60cd0036e3c3ef5af418418"


def spec_reference_encrypt(dek: bytes, context: bytes, plaintext: bytes, salt: bytes) -> bytes:
    """CRYPTO.md read literally, with cryptography primitives only: the format must match it byte for byte."""
    prefix = b"CVLT\x01\x01\x00\x00"
    okm = HKDF(SHA512(), 76, salt, b"citizen-vault/object/v1" + prefix + context).derive(dek)
    key, base, commitment = okm[:32], int.from_bytes(okm[32:44], "big"), okm[44:]
    chunks = [plaintext[i : i + CHUNK_SIZE] for i in range(0, len(plaintext) - len(plaintext) % CHUNK_SIZE, CHUNK_SIZE)]
    chunks.append(plaintext[len(chunks) * CHUNK_SIZE :])
    aead = AESGCM(key)
    body = b"".join(aead.encrypt((base ^ i).to_bytes(12, "big"), c, None) for i, c in enumerate(chunks))
    return prefix + salt + commitment + body


@pytest.mark.parametrize("size", [0, 1, 37, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 3])
def test_matches_independent_reading_of_spec(size: int) -> None:
    data = pattern(size)
    assert encrypt_object(DEK, CONTEXT, data, salt=SALT) == spec_reference_encrypt(DEK, CONTEXT, data, SALT)


@pytest.mark.parametrize(
    ("plaintext", "stored"),
    [(0, 80), (1, 81), (65535, 65615), (65536, 65632), (65537, 65633), (3 * 65536, 196_736)],
)
def test_encrypted_size(plaintext: int, stored: int) -> None:
    assert encrypted_size(plaintext) == stored
    assert len(encrypt_object(DEK, CONTEXT, bytes(plaintext))) == stored


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1])
def test_round_trip_at_boundaries(size: int) -> None:
    data = pattern(size)
    assert decrypt_object(DEK, CONTEXT, encrypt_object(DEK, CONTEXT, data)) == data


@FAST
@given(data=st.binary(max_size=3 * CHUNK_SIZE + 100), cuts=st.lists(st.integers(0, 70_000), max_size=8))
def test_round_trip_random_lengths_and_piece_sizes(data: bytes, cuts: list[int]) -> None:
    encryptor = ObjectEncryptor(DEK, CONTEXT)
    out, pos = [encryptor.header], 0
    for cut in [*sorted(cuts), len(data)]:
        out.append(encryptor.update(data[pos : max(pos, cut)]))
        pos = max(pos, cut)
    out.append(encryptor.finalize())
    blob = b"".join(out)
    assert len(blob) == encrypted_size(len(data))
    assert decrypt_object(DEK, CONTEXT, blob) == data


def test_update_releases_only_whole_chunks() -> None:
    encryptor = ObjectEncryptor(DEK, CONTEXT)
    assert encryptor.update(bytes(CHUNK_SIZE - 1)) == b""
    assert len(encryptor.update(bytes(2))) == SEALED
    assert len(encryptor.finalize()) == 1 + 16


def test_every_single_bit_flip_is_detected() -> None:
    blob = encrypt_object(DEK, CONTEXT, b"ten bytes!")
    for bit in range(len(blob) * 8):
        tampered = bytearray(blob)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(IntegrityError):
            decrypt_object(DEK, CONTEXT, bytes(tampered))


@pytest.fixture(scope="module")
def three_chunk_blob() -> bytes:
    return encrypt_object(DEK, CONTEXT, pattern(2 * CHUNK_SIZE + 1000))


@FAST
@given(position=st.integers(0, encrypted_size(2 * CHUNK_SIZE + 1000) * 8 - 1))
def test_random_bit_flips_in_a_multi_chunk_object_are_detected(three_chunk_blob: bytes, position: int) -> None:
    tampered = bytearray(three_chunk_blob)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, bytes(tampered))


@FAST
@given(keep=st.integers(0, encrypted_size(2 * CHUNK_SIZE + 1000) - 1))
def test_truncation_anywhere_is_detected(three_chunk_blob: bytes, keep: int) -> None:
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, three_chunk_blob[:keep])


@pytest.mark.parametrize(
    "keep", [HEADER_SIZE, HEADER_SIZE + SEALED, HEADER_SIZE + 2 * SEALED, HEADER_SIZE + 2 * SEALED + 15]
)
def test_truncation_at_chunk_boundaries_is_detected(three_chunk_blob: bytes, keep: int) -> None:  # fmt: skip
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, three_chunk_blob[:keep])


def test_missing_empty_final_chunk_is_detected() -> None:
    blob = encrypt_object(DEK, CONTEXT, pattern(2 * CHUNK_SIZE))
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, blob[:-16])


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_SIZE:]
    return blob[:HEADER_SIZE], [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


@pytest.mark.parametrize(
    "reorder",
    [
        pytest.param(lambda c: [c[1], c[0], c[2]], id="swap-0-1"),
        pytest.param(lambda c: [c[0], c[0], c[2]], id="duplicate-0-over-1"),
        pytest.param(lambda c: [c[0], c[0], c[1], c[2]], id="duplicate-0-inserted"),
        pytest.param(lambda c: [c[0], c[2]], id="drop-middle"),
        pytest.param(lambda c: [c[0], c[1], c[2], c[2]], id="duplicate-final"),
        pytest.param(lambda c: [c[0], c[1]], id="drop-final"),
    ],
)
def test_chunk_swap_duplication_and_removal_are_detected(three_chunk_blob: bytes, reorder) -> None:  # type: ignore[no-untyped-def]
    header, chunks = chunks_of(three_chunk_blob)
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, header + b"".join(reorder(chunks)))


def test_chunks_from_another_object_with_the_same_key_are_detected() -> None:
    first = encrypt_object(DEK, CONTEXT, pattern(CHUNK_SIZE + 5))
    second = encrypt_object(DEK, CONTEXT, pattern(CHUNK_SIZE + 5))
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, first[: HEADER_SIZE + SEALED] + second[HEADER_SIZE + SEALED :])


@FAST
@given(extra=st.binary(min_size=1, max_size=SEALED + 1))
def test_appended_bytes_are_detected(three_chunk_blob: bytes, extra: bytes) -> None:
    with pytest.raises(IntegrityError):
        decrypt_object(DEK, CONTEXT, three_chunk_blob + extra)


def test_wrong_context_fails_at_the_header() -> None:
    blob = encrypt_object(DEK, CONTEXT, b"data")
    with pytest.raises(IntegrityError, match="commitment"):
        ObjectDecryptor(blob[:HEADER_SIZE], DEK, OTHER_CONTEXT)


def test_wrong_key_fails_at_the_header() -> None:
    blob = encrypt_object(DEK, CONTEXT, b"data")
    with pytest.raises(IntegrityError, match="commitment"):
        ObjectDecryptor(blob[:HEADER_SIZE], bytes(32), CONTEXT)


@pytest.mark.parametrize(("offset", "value"), [(0, 0x44), (4, 2), (4, 0), (5, 2), (5, 0), (6, 1), (7, 1)])
def test_wrong_magic_version_suite_or_reserved_byte_is_refused(offset: int, value: int) -> None:
    header = bytearray(encrypt_object(DEK, CONTEXT, b"data")[:HEADER_SIZE])
    header[offset] = value
    with pytest.raises(IntegrityError):
        ObjectDecryptor(bytes(header), DEK, CONTEXT)


def test_decrypt_chunk_checks_size_for_its_position() -> None:
    blob = encrypt_object(DEK, CONTEXT, pattern(CHUNK_SIZE + 3))
    decryptor = ObjectDecryptor(blob[:HEADER_SIZE], DEK, CONTEXT)
    full, final = blob[HEADER_SIZE : HEADER_SIZE + SEALED], blob[HEADER_SIZE + SEALED :]
    with pytest.raises(IntegrityError):
        decryptor.decrypt_chunk(0, full, final=True)
    with pytest.raises(IntegrityError):
        decryptor.decrypt_chunk(1, final, final=False)
    with pytest.raises(IntegrityError):
        decryptor.decrypt_chunk(0, final, final=True)
    assert decryptor.decrypt_chunk(0, full, final=False) == pattern(CHUNK_SIZE)
    assert decryptor.decrypt_chunk(1, final, final=True) == pattern(CHUNK_SIZE + 3)[CHUNK_SIZE:]


def test_encryptor_refuses_use_after_finalize() -> None:
    encryptor = ObjectEncryptor(DEK, CONTEXT)
    encryptor.finalize()
    with pytest.raises(RuntimeError):
        encryptor.update(b"x")
    with pytest.raises(RuntimeError):
        encryptor.finalize()


@pytest.mark.parametrize(("dek", "salt"), [(bytes(31), None), (DEK, bytes(23))])
def test_bad_key_or_salt_length_is_refused(dek: bytes, salt: bytes | None) -> None:
    with pytest.raises(ValueError):
        ObjectEncryptor(dek, CONTEXT, salt)


def test_decrypt_chunk_into_matches_decrypt_chunk_and_checks_tags() -> None:
    blob = encrypt_object(DEK, CONTEXT, pattern(CHUNK_SIZE + 3))
    decryptor = ObjectDecryptor(blob[:HEADER_SIZE], DEK, CONTEXT)
    full = blob[HEADER_SIZE : HEADER_SIZE + SEALED]
    target = bytearray(CHUNK_SIZE)
    assert decryptor.decrypt_chunk_into(0, full, False, memoryview(target)) == CHUNK_SIZE
    assert bytes(target) == decryptor.decrypt_chunk(0, full, final=False)
    with pytest.raises(IntegrityError):
        decryptor.decrypt_chunk_into(1, full, False, memoryview(target))


def test_update_accepts_any_bytes_like_and_leaves_the_caller_buffer_free() -> None:
    data = bytearray(pattern(2 * CHUNK_SIZE + 5))
    encryptor = ObjectEncryptor(DEK, CONTEXT, SALT)
    blob = encryptor.header + encryptor.update(memoryview(data)[:7]) + encryptor.update(data[7:])
    data.extend(b"resizable: no export left behind")
    blob += encryptor.finalize()
    assert blob == encrypt_object(DEK, CONTEXT, pattern(2 * CHUNK_SIZE + 5), salt=SALT)
