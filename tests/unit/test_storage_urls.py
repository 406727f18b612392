"""Configuration URLs and object keys: parsed strictly, path tricks refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import FilesystemStore, S3Store, store_from_url
from storage._store import validate_key


def test_file_url_gives_a_filesystem_store(tmp_path: Path) -> None:
    assert isinstance(store_from_url(f"file://{tmp_path}"), FilesystemStore)


def test_s3_url_gives_an_s3_store_with_decoded_secret() -> None:
    store = store_from_url("s3://AK:se%2Fcr%40et@127.0.0.1:9000/docs?secure=false&region=eu-west-1")
    assert isinstance(store, S3Store)
    assert store._client._provider.retrieve().secret_key == "se/cr@et"  # type: ignore[union-attr]
    assert store._bucket == "docs"


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/path",
        "file://otherhost/abs",
        "s3://127.0.0.1:9000/bucket",
        "s3://AK:SK@127.0.0.1:9000/",
        "s3://AK:SK@127.0.0.1:9000/a/b",
        "s3://AK:SK@127.0.0.1:9000/b?secure=maybe",
        "s3://AK:SK@127.0.0.1:9000/b?colour=blue",
        "s3://AK:SK@127.0.0.1:9000/b?part_size=1024",
        "http://127.0.0.1:9000/b",
    ],
)
def test_bad_store_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        store_from_url(url)


@pytest.mark.parametrize(
    "key",
    [
        "v1/0b6f3c1e-9c1d-4c39-8d9e-2f1b0c6a7d11/1f0e/2a",
        "object",
        "a_b-c.d",
    ],
)
def test_good_keys_are_accepted(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/../b", "..", ".", "a//b", "a/", ".incoming/x", "a\\b", "a/.hidden", "a b", "ü", "a/" * 17 + "a"],
)
def test_path_tricks_in_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        FilesystemStore(tmp_path)._path(key)


@pytest.mark.parametrize(
    "url", ["s3://AK:SK@127.0.0.1:9000/b?sign_payload=perhaps", "s3://AK:SK@127.0.0.1:9000/b?parallel_parts=0"]
)
def test_bad_streaming_options_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        store_from_url(url)


@pytest.mark.parametrize(
    ("url", "signed"),
    [
        ("s3://AK:SK@127.0.0.1:9000/b", False),
        ("s3://AK:SK@localhost:9000/b", False),
        ("s3://AK:SK@[::1]:9000/b", False),
        ("s3://AK:SK@s3.example.org/b?secure=true", False),
        ("s3://AK:SK@s3.example.org:9000/b", True),
        ("s3://AK:SK@10.1.2.3:9000/b", True),
        ("s3://AK:SK@127.0.0.1:9000/b?sign_payload=true", True),
        ("s3://AK:SK@s3.example.org:9000/b?sign_payload=false", False),
    ],
)
def test_object_bodies_are_hashed_into_the_signature_only_over_plain_http_off_loopback(url: str, signed: bool) -> None:
    store = store_from_url(url)
    assert isinstance(store, S3Store)
    assert (store._body_headers == {}) is signed


def test_parts_in_flight_come_from_the_url() -> None:
    store = store_from_url("s3://AK:SK@127.0.0.1:9000/b?parallel_parts=5&part_size=16777216")
    assert isinstance(store, S3Store)
    assert (store._parallel_parts, store._part_size) == (5, 16 * 1024 * 1024)
