"""SoftHSM2: a fresh token per test session, with its own SOFTHSM2_CONF and token directory.

The `softhsm_token` fixture initialises an empty token; tests create the keys they need in it (keys generated
on the token are sensitive and never extractable). SOFTHSM2_CONF is set for the whole session, before any
test loads the PKCS#11 module.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE_PATH = "/usr/lib/softhsm/libsofthsm2.so"


@dataclass(frozen=True)
class SoftHsmToken:
    """An initialised SoftHSM2 token.

    Attributes:
        module_path: The PKCS#11 module to load.
        token_label: The token's label.
        pin: User PIN.
        so_pin: Security officer PIN.
        conf_path: The SOFTHSM2_CONF file in use.
    """

    module_path: str
    token_label: str
    pin: str
    so_pin: str
    conf_path: Path

    def open_session(self, rw: bool = True):
        """A python-pkcs11 session on the token, logged in as user (close it when done)."""
        import pkcs11

        token = pkcs11.lib(self.module_path).get_token(token_label=self.token_label)
        return token.open(rw=rw, user_pin=self.pin)


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """An empty SoftHSM2 token in a session-private token directory."""
    if not Path(MODULE_PATH).exists():
        pytest.fail(f"SoftHSM2 is not installed ({MODULE_PATH} missing): apt-get install softhsm2")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    token = SoftHsmToken(MODULE_PATH, "vault-test", "1234", "5678", conf)
    result = subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            token.token_label,
            "--pin",
            token.pin,
            "--so-pin",
            token.so_pin,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"softhsm2-util --init-token failed: {result.stdout}{result.stderr}")
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
