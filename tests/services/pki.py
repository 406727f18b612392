"""The certomancer test PKI served on loopback (OCSP, CRLs, TSA), plus pdfsig/qpdf checks against it.

The `pki` fixture (session scope) generates fresh keys, loads tests/pki/certomancer.yml with a free loopback
port as URL prefix, writes every certificate as PEM, builds an NSS database trusting the root (for pdfsig) and
starts tests/pki/animate.py (certomancer's animator with whole-second response times). Tests can stop and
restart the services (offline validation, TSA down).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from certomancer.registry import CertomancerConfig

from signing import KeyFileSigner
from tests.pki.keygen import generate_keys
from tests.services._proc import ServiceProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[2]
PKI_DIR = REPO / "tests" / "pki"
ARCH = "vault"
SIGNERS = ("citizen", "agency", "revoked", "expired", "rogue")
MINIMAL_PDF = REPO / "tests" / "data" / "pdf" / "minimal.pdf"


class PkiServices:
    """The running test PKI.

    Attributes:
        directory: Session directory holding keys/, certs/ and nssdb/.
        url: Base URL of the services, e.g. ``http://127.0.0.1:PORT``.
        tsa_url: RFC 3161 endpoint.
        nssdb: NSS database directory trusting the test root (``pdfsig -nssdir``).
    """

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.tsa_url = f"{self.url}/{ARCH}/tsa/tsa"
        self.config_path = PKI_DIR / "certomancer.yml"
        self.nssdb = directory / "nssdb"
        self._process: ServiceProcess | None = None
        cfg = CertomancerConfig.from_file(
            str(self.config_path), key_search_dir=str(directory), external_url_prefix=self.url
        )
        self.arch = cfg.get_pki_arch(ARCH)

    def key_path(self, label: str) -> Path:
        """PEM private key of an entity (citizen, agency, revoked, expired, rogue, ...)."""
        return self.directory / "keys" / f"{label}.key.pem"

    def cert_path(self, label: str) -> Path:
        """PEM certificate of a certificate label."""
        return self.directory / "certs" / f"{label}.cert.pem"

    def cert(self, label: str) -> x509.Certificate:
        """A certificate as an asn1crypto object."""
        return self.arch.get_cert(label)

    def chain_paths(self, label: str) -> tuple[Path, ...]:
        """The issuing CA certificates of a signer, to embed with its signatures."""
        return (self.cert_path("rogue-root"),) if label == "rogue" else (self.cert_path("interm"),)

    def signer(self, label: str) -> KeyFileSigner:
        """A key-file signer for one of the PKI's signers (citizen, agency, revoked, expired, rogue)."""
        return KeyFileSigner.load(self.key_path(label), self.cert_path(label), self.chain_paths(label))

    @property
    def root_cert_path(self) -> Path:
        """The trusted root's PEM certificate."""
        return self.cert_path("root")

    @property
    def root_cert(self) -> x509.Certificate:
        """The trusted root certificate."""
        return self.cert("root")

    def write_material(self) -> None:
        """Write every certificate as PEM and build the NSS database trusting the root."""
        certs = self.directory / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        for label in ("root", "interm", "interm-ocsp", "tsa", "rogue-root", *SIGNERS):
            self.cert_path(label).write_bytes(pem.armor("CERTIFICATE", self.cert(label).dump()))
        self.nssdb.mkdir()
        _run(["certutil", "-N", "-d", f"sql:{self.nssdb}", "--empty-password"])
        _run(["certutil", "-A", "-d", f"sql:{self.nssdb}", "-n", "root", "-t", ",C,", "-i", str(self.root_cert_path)])

    def start(self) -> None:
        """Start the services (no-op when running); fails the test session with the log tail if they don't come up."""
        if self._process is not None:
            return
        argv = [sys.executable, str(PKI_DIR / "animate.py"), str(self.config_path), str(self.directory), str(self.port)]
        proc = ServiceProcess("certomancer", argv, self.directory, cwd=REPO)
        try:
            wait_for_http(f"{self.url}/{ARCH}/crls/root/latest.crl", timeout=30, proc=proc.proc)
        except (RuntimeError, TimeoutError) as exc:
            tail = proc.log_tail()
            proc.stop()
            pytest.fail(f"certomancer services did not start: {exc}\n{tail}")
        self._process = proc

    def stop(self) -> None:
        """Stop the services: OCSP, CRL and TSA become unreachable."""
        if self._process is not None:
            self._process.stop()
            self._process = None

    @contextlib.contextmanager
    def offline(self) -> Iterator[None]:
        """Run a block with the services stopped, restarting them afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{argv[0]} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result.stdout


def pdfsig(pdf: Path, nssdb: Path) -> str:
    """poppler's pdfsig output for `pdf`, trusting the NSS db's roots (its exit code means nothing: read this)."""
    result = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nssdb}", str(pdf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout + result.stderr


def pdfsig_valid_count(pdf: Path, nssdb: Path) -> int:
    """How many signatures pdfsig reports as "Signature is Valid."."""
    return pdfsig(pdf, nssdb).count("Signature Validation: Signature is Valid.")


def qpdf_check(pdf: Path) -> subprocess.CompletedProcess[str]:
    """``qpdf --check``: structure only (exit 0 clean, 3 warnings, 2 errors)."""
    return subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PkiServices]:
    """The running certomancer PKI (see :class:`PkiServices`); stopped at the end of the session."""
    directory = tmp_path_factory.mktemp("pki")
    generate_keys(directory / "keys")
    services = PkiServices(directory, free_port())
    services.write_material()
    services.start()
    try:
        yield services
    finally:
        services.stop()
