# -*- coding: utf-8 -*-
"""The WAL reader against WAL files written here in etcd's format (the
real thing is read in tests/integration/modules/test_wal_modules.py)."""
from __future__ import annotations

import struct

import pytest
from ansible_collections.quorum.etcd.plugins.module_utils import etcd_wal
from ansible_collections.quorum.etcd.plugins.modules import etcd_node_info


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def frame(rtype, data):
    """One record framed as etcd's encoder does: length field, record, padding to 8 bytes."""
    rec = field(1, rtype) + field(2, 12345) + (field(3, data) if data else b"")
    pad = (8 - len(rec) % 8) % 8
    length = len(rec) | ((pad | 0x80) << 56 if pad else 0)
    return struct.pack("<Q", length) + rec + b"\0" * pad


def entry(index, data=b"", term=2, kind=0):
    return frame(etcd_wal.RECORD_ENTRY, field(1, kind) + field(2, term) + field(3, index) + (field(4, data) if data else b""))


def state(commit):
    return frame(etcd_wal.RECORD_STATE, field(1, 2) + field(3, commit))


def snapshot(index):
    return frame(etcd_wal.RECORD_SNAPSHOT, field(1, index) + field(2, 2))


# A bare v2 request as etcd 3.5 proposed it (ID, Method, Path, Val) and a v3
# one (InternalRaftRequest: header, put).
V2_PUT = field(1, 77) + field(2, b"PUT") + field(3, b"/0/members/8e9e05c52164694d/attributes") + field(4, b'{"name":"a"}')
V3_PUT = field(100, field(1, 9)) + field(4, field(1, b"/k") + field(2, b"v"))


def write(tmp_path, *files):
    for i, chunks in enumerate(files):
        body = frame(1, b"metadata") + snapshot(0) + b"".join(chunks)
        (tmp_path / ("%016x-%016x.wal" % (i, 0))).write_bytes(body + b"\0" * 4096)  # preallocated tail
    return str(tmp_path)


def test_v2_requests_after_the_snapshot_are_counted(tmp_path):
    wal = write(tmp_path, [entry(1, b""), entry(2, V3_PUT), entry(3, V2_PUT), entry(4, V2_PUT), entry(5, V3_PUT),
                           state(5)])
    assert etcd_wal.scan(wal) == {"files": 1, "snapshot_index": 0, "commit_index": 5, "last_index": 5, "entries": 5,
                                  "v2_entries": 2, "v2_first_index": 3, "v2_last_index": 4}


def test_a_committed_snapshot_past_them_clears_them_across_files(tmp_path):
    first = [entry(1, V2_PUT), entry(2, V3_PUT), state(2)]
    second = [entry(3, V3_PUT), snapshot(3), entry(4, V3_PUT), state(4), snapshot(9)]  # 9 is not committed
    info = etcd_wal.scan(write(tmp_path, first, second))
    assert info["snapshot_index"] == 3 and info["v2_entries"] == 0 and info["entries"] == 1 and info["files"] == 2


def test_an_overwritten_tail_replaces_earlier_entries(tmp_path):
    # A new leader replaced the uncommitted entries 3 and 4 (a v2 one among them).
    wal = write(tmp_path, [entry(2, V3_PUT), entry(3, V2_PUT), entry(4, V3_PUT), entry(3, V3_PUT, term=3), state(3)])
    info = etcd_wal.scan(wal)
    assert info["v2_entries"] == 0 and info["entries"] == 2 and info["last_index"] == 3


def test_conf_changes_and_empty_entries_are_not_v2_requests(tmp_path):
    wal = write(tmp_path, [entry(1, V2_PUT, kind=1), entry(2), state(2)])
    assert etcd_wal.scan(wal)["v2_entries"] == 0


def test_a_torn_last_record_ends_the_read(tmp_path):
    body = frame(1, b"m") + entry(1, V2_PUT) + entry(2, V3_PUT)[:-5]
    (tmp_path / ("%016x-%016x.wal" % (0, 0))).write_bytes(body)
    info = etcd_wal.scan(str(tmp_path))
    assert info["v2_entries"] == 1 and info["last_index"] == 1


def test_garbage_is_an_error_not_a_clean_bill(tmp_path):
    (tmp_path / ("%016x-%016x.wal" % (0, 0))).write_bytes(struct.pack("<Q", 1 << 40) + b"x" * 64)
    with pytest.raises(etcd_wal.WalError, match="claims"):
        etcd_wal.scan(str(tmp_path))
    info = etcd_node_info.wal_info(str(tmp_path))
    assert info["exists"] and "cannot read the WAL in" in info["error"]


def test_other_files_are_ignored_and_a_missing_dir_is_said(tmp_path):
    (tmp_path / "0.tmp").write_bytes(b"\xff" * 64)
    assert etcd_wal.scan(str(tmp_path))["files"] == 0
    assert etcd_node_info.wal_info(str(tmp_path / "nope")) == {"exists": False}


@pytest.mark.parametrize("data, expected", [
    (V2_PUT, True),
    (field(1, 5) + field(2, b"SYNC") + field(15, 1700000000), True),
    (V3_PUT, False),
    (field(1, 5) + field(2, field(2, b"PUT")), False),  # 3.6's wrapped form is a message, not a bare method
    (b"\xff\xff", False),
])
def test_is_v2_request(data, expected):
    assert etcd_wal.is_v2_request(data) is expected
