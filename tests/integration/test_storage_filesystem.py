"""The filesystem store keeps its files 0600 and its directories 0700, whatever the process umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import FilesystemStore
from tests.integration.test_storage_support import pieces


@pytest.fixture(params=[0o022, 0o000, 0o077], ids=["umask-022", "umask-000", "umask-077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    return found


async def test_files_are_0600_and_directories_0700(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "data" / "objects"
    store = FilesystemStore(root)
    await store.check()
    await store.put("v1/owner/document/version", pieces(b"ciphertext"))
    await store.put("v1/owner/other/version", pieces(b"more"))
    found = modes(root)
    assert found == {
        ".": 0o700, ".incoming": 0o700, "v1": 0o700, "v1/owner": 0o700,
        "v1/owner/document": 0o700, "v1/owner/document/version": 0o600,
        "v1/owner/other": 0o700, "v1/owner/other/version": 0o600,
    }  # fmt: skip
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


async def test_an_upload_in_progress_is_0600(tmp_path: Path, umask: int) -> None:
    store = FilesystemStore(tmp_path / "objects")
    handle, temp = store._open_temp()
    try:
        assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    finally:
        store._discard(handle, temp)


async def test_an_existing_root_keeps_its_mode(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    root.mkdir(mode=0o750)
    os.chmod(root, 0o750)
    store = FilesystemStore(root)
    await store.put("v1/a", pieces(b"x"))
    assert stat.S_IMODE(root.stat().st_mode) == 0o750, "the operator's directory is theirs to set"
    assert stat.S_IMODE((root / "v1").stat().st_mode) == 0o700
