"""Ceph: one mon, three bluestore OSDs on sparse files and a RADOS Gateway (beast) on loopback, Debian's packages.

``ceph_cluster`` is one cluster for the session (marker ``ceph``). RGW's pools are replicated with size 2 and
min_size 1, so any one OSD may die and uploads go on. Each daemon has its own keyring; no ceph-mgr runs (nothing
here needs it). Tests that kill an OSD bring it back with :meth:`CephCluster.start_osd`.

Boot order, each step overlapping where it can: keys and the monmap are made locally (``ceph-authtool``,
``monmaptool``), the mon store is created with every key already in it (no auth round trips later), the three
OSD stores are created in parallel while the mon starts, then ``ceph osd new`` registers them, the OSDs start
while RGW's pools are created, the S3 user is created with ``radosgw-admin`` while radosgw starts, and the cluster
is ready when a signed bucket creation and put succeed and every OSD is up. The configuration is in _ceph_conf.py.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.services._ceph_conf import RGW_POOLS, ceph_conf
from tests.services._proc import ServiceProcess, free_port, wait_for_port

__all__ = ("CephCluster", "CephError", "ceph", "ceph_cluster", "launch_ceph")

OSDS = 3
_READY_TIMEOUT = 90.0
_COMMANDS = ("ceph-mon", "ceph-osd", "radosgw", "ceph", "ceph-authtool", "monmaptool", "radosgw-admin")


class CephError(RuntimeError):
    """A Ceph daemon or command failed; the message carries the log tail."""


class _Daemons:
    """Owns the files, daemons and admin commands of one cluster."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.fsid = str(uuid.uuid4())
        self.mon_port, self.rgw_port = free_port(), free_port()
        self.conf = work / "ceph.conf"
        self.access_key, self.secret_key = f"AK{secrets.token_hex(8).upper()}", secrets.token_urlsafe(24)
        self.osd_uuids = [str(uuid.uuid4()) for _ in range(OSDS)]
        self.procs: dict[str, ServiceProcess] = {}
        for sub in ("run", "log", "stdout", "rgw"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(ceph_conf(work, self.fsid, self.mon_port, self.rgw_port))

    def run(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> str:
        """Run a Ceph command with this cluster's config; CephError with its output if it fails."""
        full = [argv[0], "-c", str(self.conf), *argv[1:]]
        try:
            done = subprocess.run(full, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CephError(f"{' '.join(argv)} timed out after {timeout}s") from exc
        if done.returncode != 0:
            raise CephError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def ceph(self, *args: str, timeout: float = 30, stdin: str | None = None) -> Any:
        """A ``ceph`` admin command as client.admin, its JSON answer parsed (None when it prints nothing)."""
        out = self.run("ceph", "--connect-timeout", str(int(timeout)), "--format", "json", *args,
                       timeout=timeout, stdin=stdin)  # fmt: skip
        return json.loads(out) if out.strip() else None

    def _keyring(self, name: str, *caps: str) -> Path:
        path = self.work / f"{name}.keyring"
        argv = ["ceph-authtool", "--create-keyring", str(path), "--gen-key", "-n", name]
        for kind, cap in zip(caps[::2], caps[1::2], strict=True):
            argv += ["--cap", kind, cap]
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
        return path

    def make_keys_and_mon(self) -> None:
        """Every daemon's keyring, then the mon store with all of them imported (caps included)."""
        mon = self._keyring("mon.", "mon", "allow *")  # copied into the mon's data directory by --mkfs
        keyrings = [
            self._keyring("client.admin", "mon", "allow *", "osd", "allow *", "mgr", "allow *"),
            self._keyring("client.rgw.a", "mon", "allow rw", "osd", "allow rwx"),
            *(
                self._keyring(f"osd.{i}", "mon", "allow profile osd", "mgr", "allow profile osd", "osd", "allow *")
                for i in range(OSDS)
            ),
        ]
        seed = self.work / "mkfs.keyring"  # keyrings are INI files: concatenated, they are one keyring
        seed.write_text("".join(ring.read_text() for ring in [mon, *keyrings]))
        monmap = self.work / "monmap"
        subprocess.run(["monmaptool", "--create", "--fsid", self.fsid, "--addv", "a",
                        f"[v2:127.0.0.1:{self.mon_port}]", str(monmap)], check=True, capture_output=True)  # fmt: skip
        self.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(monmap), "--keyring", str(seed))

    def mkfs_osds(self) -> list[subprocess.Popen[bytes]]:
        """Start the three bluestore mkfs runs (they need only the monmap, not a running mon)."""
        procs = []
        for i, osd_uuid in enumerate(self.osd_uuids):
            (self.work / f"osd.{i}").mkdir(exist_ok=True)
            argv = ["ceph-osd", "-c", str(self.conf), "-i", str(i), "--mkfs", "--osd-uuid", osd_uuid,
                    "--monmap", str(self.work / "monmap")]  # fmt: skip
            log = (self.work / "log" / f"mkfs.osd.{i}.out").open("wb")
            procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        return procs

    def admin_batch(self, commands: list[str]) -> None:
        """Run ``ceph`` commands in one CLI process (it reads them from stdin); failures are only printed."""
        self.run("ceph", "--connect-timeout", "30", timeout=60, stdin="\n".join(commands) + "\n")

    def start(self, name: str, argv: list[str]) -> ServiceProcess:
        proc = ServiceProcess(name, [argv[0], "-f", "-c", str(self.conf), *argv[1:]], self.work / "stdout")
        self.procs[name] = proc
        return proc

    def start_osd(self, i: int) -> None:
        self.start(f"osd.{i}", ["ceph-osd", "-i", str(i)])

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            proc.stop()

    def asok(self, name: str, prefix: str, **args: str) -> Any:
        """A command on a daemon's admin socket, spoken in-process (the ``ceph`` CLI costs ~0.5-2 s a run).

        The protocol: the JSON command and a NUL byte; the answer is a big-endian u32 length and that many bytes.
        """
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.work / "run" / f"{name}.asok"))
            sock.sendall(json.dumps({"prefix": prefix, "format": "json", **args}).encode() + b"\0")
            answer = b""
            while len(answer) < 4 or len(answer) < 4 + struct.unpack(">I", answer[:4])[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    raise CephError(f"{name}'s admin socket closed mid-answer to {prefix!r}")
                answer += chunk
        return json.loads(answer[4:]) if answer[4:].strip() else None

    def osd_active(self, i: int) -> bool:
        """Whether osd.i runs and sees itself up in the cluster map (its admin socket's ``status``)."""
        try:
            return bool(self.asok(f"osd.{i}", "status")["state"] == "active")
        except (OSError, CephError, ValueError):
            return False

    def clean(self) -> bool:
        """Whether every placement group is ``active+clean``: all copies complete, no recovery pending.

        With no ceph-mgr there are no PG statistics at the mon, so each running OSD is asked which PGs it is
        primary for and what state each is in (its admin socket's ``query``).
        """
        try:
            states = [
                self.asok(f"osd.{i}", "query", pgid=pg["pg"])["state"]
                for i in range(OSDS)
                if f"osd.{i}" in self.procs
                for pg in self.asok(f"osd.{i}", "dump_pgstate_history")["pgs"]
                if pg["currently"].startswith("Started/Primary/")
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return len(states) == sum(RGW_POOLS.values()) and all(state == "active+clean" for state in states)

    def osd_up(self) -> set[int]:
        dump = self.ceph("osd", "dump")
        return {osd["osd"] for osd in dump["osds"] if osd["up"]}

    def wait_for(self, what: str, test: Any, timeout: float) -> None:
        """Poll ``test()`` (a starting or failing cluster) until it is true; CephError naming ``what`` if not."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.proc.poll() is not None:
                    raise CephError(f"{name} exited with {proc.proc.returncode}\n{self.log_tail(name)}")
            try:
                if test():
                    return
            except CephError as exc:
                last = exc
            time.sleep(0.2)
        raise CephError(f"{what} not reached within {timeout}s (last: {last!r})")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.work / "log" / f"{name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def boot(self) -> None:
        self.make_keys_and_mon()
        mkfs = self.mkfs_osds()
        self.start("mon.a", ["ceph-mon", "-i", "a"])
        wait_for_port(self.mon_port, timeout=30, proc=self.procs["mon.a"].proc)
        # The ceph CLI reads commands from stdin: one run per batch (each run costs 0.5-2 s of Python start-up
        # and connecting). Errors in a batch are only printed, so the outcome is checked with one ``osd dump``.
        self.admin_batch([f"osd new {osd_uuid} {i}" for i, osd_uuid in enumerate(self.osd_uuids)])
        for i, proc in enumerate(mkfs):
            if proc.wait(timeout=120) != 0:
                out = (self.work / "log" / f"mkfs.osd.{i}.out").read_text(errors="replace")[-2000:]
                raise CephError(f"ceph-osd --mkfs for osd.{i} failed:\n{out}")
        for i in range(OSDS):
            self.start_osd(i)
        # RGW's pools are made while the OSDs boot (~0.2 s of paxos per command, overlapping their ~2 s start),
        # so radosgw finds them instead of creating them one at a time, each waiting for its PGs.
        pools = [f"osd pool create {pool} {pgs} {pgs} replicated" for pool, pgs in RGW_POOLS.items()]
        self.admin_batch([*pools, *(f"osd pool application enable {pool} rgw" for pool in RGW_POOLS)])
        dump = self.ceph("osd", "dump")
        made = {pool["pool_name"] for pool in dump["pools"]}
        if len(dump["osds"]) != OSDS or made != set(RGW_POOLS):
            raise CephError(f"admin commands did not take: osds {dump['osds']!r}, pools {sorted(made)}")
        deadline = time.monotonic() + _READY_TIMEOUT
        rgw = self.start("client.rgw.a", ["radosgw", "-n", "client.rgw.a"])
        self.create_user(deadline)
        while True:
            try:
                wait_for_port(self.rgw_port, timeout=max(1.0, deadline - time.monotonic()), proc=rgw.proc)
                return
            except RuntimeError:  # it exited: radosgw gives up (exit 5) when its first reads time out too
                if time.monotonic() > deadline:
                    raise
                rgw.stop()
                rgw = self.start("client.rgw.a", ["radosgw", "-n", "client.rgw.a"])

    def create_user(self, deadline: float) -> None:
        """The S3 user. ``radosgw-admin`` gives up after ``rados osd op timeout`` (5 s, so that a lost OSD is
        an error quickly) while the new pools' PGs still peer, which a loaded machine stretches past 5 s
        ("failed reading realm info: (110) Connection timed out"): try again until the deadline."""
        while True:
            try:
                self.run("radosgw-admin", "user", "create", "--uid", "vault-tests", "--display-name", "vault tests",
                         "--access-key", self.access_key, "--secret-key", self.secret_key, timeout=120)  # fmt: skip
                return
            except CephError as exc:
                if "exists" in str(exc):  # an earlier try that timed out on its answer had made it
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


@dataclass(frozen=True)
class CephCluster:
    """A running Ceph cluster with an S3 gateway.

    Attributes:
        endpoint: ``127.0.0.1:PORT`` of radosgw.
        access_key: The S3 user's access key.
        secret_key: Its secret key.
        boot_seconds: How long the cluster took to answer a signed write (for the report, not for asserts).
    """

    endpoint: str
    access_key: str
    secret_key: str
    boot_seconds: float
    _daemons: _Daemons = field(repr=False, compare=False)

    @property
    def workdir(self) -> Path:
        """The cluster's files: config, keyrings, logs (``log/``), data."""
        return self._daemons.work

    def url(self, bucket: str) -> str:
        """The ``s3://`` store URL for ``bucket`` on this cluster's radosgw."""
        return f"s3://{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}@{self.endpoint}/{bucket}"

    def ceph(self, *args: str, timeout: float = 30) -> Any:
        """Run a ``ceph`` admin command and return its parsed JSON answer."""
        return self._daemons.ceph(*args, timeout=timeout)

    def radosgw_admin(self, *args: str) -> Any:
        """Run ``radosgw-admin`` (users, keys, buckets) and return its parsed JSON answer."""
        out = self._daemons.run("radosgw-admin", *args, timeout=60)
        return json.loads(out) if out.strip() else None

    def osds_up(self) -> set[int]:
        """The ids of the OSDs the mon believes are up."""
        return self._daemons.osd_up()

    def kill_osd(self, osd: int) -> None:
        """SIGKILL one OSD (its process group), like a storage node losing power."""
        self._daemons.kill(f"osd.{osd}")

    def start_osd(self, *osds: int, timeout: float = 60) -> None:
        """Start the OSDs again on their data; wait until each is up and every placement group is clean."""
        for osd in osds:
            self._daemons.start_osd(osd)
        for osd in osds:
            self._daemons.wait_for(f"osd.{osd} up", lambda osd=osd: self._daemons.osd_active(osd), timeout)
        # what the OSDs missed while down is copied back before anything else may fail: killing the only
        # up-to-date copy of a PG mid-recovery would make it unavailable (a double fault, not the one tested)
        self._daemons.wait_for("all placement groups clean", self._daemons.clean, timeout)

    def running_osds(self) -> set[int]:
        """The OSDs whose process this fixture runs (killed ones are not among them)."""
        return {i for i in range(OSDS) if f"osd.{i}" in self._daemons.procs}

    def wait_osd_down(self, osd: int, timeout: float = 30) -> None:
        """Wait until the mon has marked the OSD down."""
        self._daemons.wait_for(f"osd.{osd} down", lambda: osd not in self.osds_up(), timeout)

    def acting_sets(self, pool: str) -> dict[str, list[int]]:
        """Each placement group of ``pool`` and the OSDs CRUSH maps it to (with every OSD up, these act)."""
        osdmap = self.workdir / "osdmap.bin"
        self._daemons.run("ceph", "osd", "getmap", "-o", str(osdmap))
        pool_id = next(p["pool"] for p in self.ceph("osd", "dump")["pools"] if p["pool_name"] == pool)
        dump = subprocess.run(["osdmaptool", str(osdmap), "--test-map-pgs-dump", "--pool", str(pool_id)],
                              capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
        rows = (line.split("\t") for line in dump.splitlines() if line.startswith(f"{pool_id}."))
        return {row[0]: json.loads(row[1]) for row in rows}

    def busiest_osd(self, pool: str = "default.rgw.buckets.data") -> int:
        """The OSD in the most placement groups of ``pool``: killing it degrades the most of an upload."""
        acting = self.acting_sets(pool)
        return max(range(OSDS), key=lambda osd: sum(osd in osds for osds in acting.values()))

    def key_osds(self, access_key: str) -> list[int]:
        """The OSDs holding the object radosgw reads to look ``access_key`` up."""
        return list(self.ceph("osd", "map", "default.rgw.meta", access_key, "users.keys")["acting"])

    def forget_cached_users(self) -> None:
        """Empty radosgw's metadata cache (admin socket), so the next request looks its user up in RADOS."""
        self._daemons.asok("client.rgw.a", "cache zap")

    def stop(self) -> None:
        """Kill every daemon (by PID, process group)."""
        self._daemons.stop()


def _wait_for_signed_write(daemons: _Daemons, timeout: float) -> None:
    import io

    import urllib3
    from minio import Minio
    from minio.error import S3Error

    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=20), retries=False)
    client = Minio(f"127.0.0.1:{daemons.rgw_port}", daemons.access_key, daemons.secret_key, secure=False,
                   region="us-east-1", http_client=http)  # fmt: skip

    def signed_write() -> bool:
        try:
            if not client.bucket_exists("readiness"):
                client.make_bucket("readiness")
            client.put_object("readiness", "probe", io.BytesIO(b"ok"), 2)
        except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
            raise CephError(f"signed write failed: {exc!r}") from exc
        return True

    try:
        daemons.wait_for("a signed write through radosgw", signed_write, timeout)
    finally:
        http.clear()


def launch_ceph(work: Path) -> CephCluster:
    """Boot a cluster in ``work`` and return it once a signed S3 write succeeds.

    Raises:
        CephError: If a command is missing or a daemon does not come up (with the relevant log tail).
    """
    missing = [cmd for cmd in _COMMANDS if shutil.which(cmd) is None]
    if missing:
        raise CephError(f"Ceph commands missing: {', '.join(missing)} (apt-get install ceph-mon ceph-osd radosgw "
                        "ceph-common; scripts/test installs them)")  # fmt: skip
    started = time.monotonic()
    daemons = _Daemons(work)
    try:
        daemons.boot()
        _wait_for_signed_write(daemons, _READY_TIMEOUT)
        daemons.wait_for("all OSDs up", lambda: all(map(daemons.osd_active, range(OSDS))), _READY_TIMEOUT)
        daemons.wait_for("all placement groups clean", daemons.clean, _READY_TIMEOUT)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        tails = "\n".join(f"--- {name} ---\n{daemons.log_tail(name)}" for name in ("mon.a", "osd.0", "client.rgw.a"))
        daemons.stop()
        raise CephError(f"Ceph did not start: {exc}\n{tails}") from exc
    elapsed = time.monotonic() - started
    return CephCluster(f"127.0.0.1:{daemons.rgw_port}", daemons.access_key, daemons.secret_key, elapsed, daemons)


@pytest.fixture(scope="session")
def ceph_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephCluster]:
    """One Ceph cluster (mon, 3 OSDs, radosgw) for the session; a cluster that cannot boot fails the test."""
    try:
        cluster = launch_ceph(tmp_path_factory.mktemp("ceph"))
    except CephError as exc:
        pytest.fail(str(exc), pytrace=False)
    print(f"\nceph: mon + {OSDS} OSDs + radosgw answered a signed write after {cluster.boot_seconds:.1f}s")
    yield cluster
    cluster.stop()
    for block in cluster.workdir.glob("osd.*/block"):  # sparse, but hundreds of MiB written: keep only the logs
        block.unlink()


@pytest.fixture
def ceph(ceph_cluster: CephCluster) -> Iterator[CephCluster]:
    """The session cluster for a test that may kill OSDs: every OSD is running again after it, whatever it did."""
    yield ceph_cluster
    ceph_cluster.start_osd(*(set(range(OSDS)) - ceph_cluster.running_osds()))
