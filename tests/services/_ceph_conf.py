"""The configuration of the test Ceph cluster (tests/services/ceph.py): ceph.conf and RGW's pools."""

from __future__ import annotations

from pathlib import Path

__all__ = ("RGW_POOLS", "ceph_conf")

# RGW's pools for the default zone (radosgw would create them itself, one by one, on first use)
RGW_POOLS = {
    ".rgw.root": 4, "default.rgw.control": 4, "default.rgw.meta": 4, "default.rgw.log": 4,
    "default.rgw.buckets.index": 8, "default.rgw.buckets.non-ec": 4, "default.rgw.buckets.data": 8,
}  # fmt: skip


def ceph_conf(work: Path, fsid: str, mon_port: int, rgw_port: int) -> str:
    """The ``ceph.conf`` of a test cluster whose files all live under ``work``."""
    return f"""[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = {work}/$name.keyring
run dir = {work}/run
admin socket = {work}/run/$name.asok
pid file = {work}/run/$name.pid
log file = {work}/log/$name.log
log to stderr = false
err to stderr = true
mon cluster log file = {work}/log/cluster.log
# fast paxos commits, a single-host CRUSH map, no disk-space alarms on a shared disk
paxos propose interval = 0.1
osd crush chooseleaf type = 0
osd pool default size = 2
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon data avail warn = 1
mon data avail crit = 0
mon warn on pool no redundancy = false
mon allow pool delete = true
# a killed OSD is noticed in seconds: connection-refused reports from any one peer mark it down
osd fast fail on connection refused = true
mon osd min down reporters = 1
mon osd reporter subtree level = osd
osd heartbeat interval = 1
osd heartbeat grace = 5
# clients (radosgw) give up on an operation instead of waiting forever for a dead OSD
rados osd op timeout = 5
rados mon op timeout = 5
client mount timeout = 30

[mon]
mon data = {work}/mon.$id
keyring = {work}/mon.$id/keyring

[osd]
osd data = {work}/osd.$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mount = false
bluestore fsck on mkfs = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {work}/rgw
rgw enable usage log = false
rgw enable ops log = false
"""
