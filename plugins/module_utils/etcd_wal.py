# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read an etcd member's write-ahead log (member/wal) with the standard library.

What the collection needs from it: which raft entries a member replays when
it starts, and whether any of them is a request in the format etcd 3.5 wrote
for its v2 store. etcd 3.7 no longer decodes those (its apply step fails with
"unmarshal should never fail" and the member stops), so a member may move to
3.7 only once a raft snapshot newer than its last such entry exists
(docs/DESIGN.md, "3.6 to 3.7").

The format, as etcd writes it (server/storage/wal):

- files ``<seq:016x>-<index:016x>.wal`` in name order, preallocated with zeros;
- each record is an 8-byte little-endian length field (the low 56 bits are
  the record's size; when bit 63 is set, bits 56-58 are the padding bytes
  after it, to 8-byte alignment) followed by a protobuf ``walpb.Record``
  {1: type, 2: crc, 3: data}; a zero length field ends the file;
- record types: 1 metadata, 2 raft entry, 3 hard state, 4 crc, 5 snapshot;
- ``raftpb.Entry`` {1: type (0 normal), 2: term, 3: index, 4: data};
  ``walpb.Snapshot`` {1: index, 2: term}; ``raftpb.HardState`` {3: commit}.

A member replays from its newest snapshot record whose index is committed.
A request etcd 3.5 wrote for the v2 store is a bare ``etcdserverpb.Request``
whose field 2 is its method (PUT, POST, ...); a v3 request never has a bare
method name there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import os
import re
import struct

RECORD_ENTRY = 2
RECORD_STATE = 3
RECORD_SNAPSHOT = 5
ENTRY_NORMAL = 0
V2_METHODS = frozenset([b"PUT", b"POST", b"DELETE", b"QGET", b"GET", b"HEAD", b"SYNC"])
WAL_NAME = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{16}\.wal$")
MAX_RECORD = 10 * 1024 * 1024  # etcd's own bound on one record (wal.maxWALEntrySizeLimit)


class WalError(Exception):
    """The WAL cannot be read as etcd's format."""


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WalError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WalError("varint too long")


def fields(buf):
    """The top-level fields of a protobuf message: [(number, wire type, value)].
    Varints are ints, length-delimited fields bytes; fixed-width ones bytes."""
    out = []
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise WalError("field %d runs past the end of its message" % number)
            value = bytes(buf[pos:pos + size])
            pos += size
        elif wire == 1:
            value, pos = bytes(buf[pos:pos + 8]), pos + 8
        elif wire == 5:
            value, pos = bytes(buf[pos:pos + 4]), pos + 4
        else:
            raise WalError("unsupported wire type %d" % wire)
        if pos > end:
            raise WalError("field %d runs past the end of its message" % number)
        out.append((number, wire, value))
    return out


def _first(parsed, number, default=0):
    for num, _wire, value in parsed:
        if num == number:
            return value
    return default


def is_v2_request(data):
    """True for a bare v2-store request (what etcd 3.5 proposed for member
    attributes, the cluster version and v2 writes)."""
    try:
        parsed = fields(data)
    except WalError:
        return False
    return any(num == 2 and wire == 2 and value in V2_METHODS for num, wire, value in parsed)


def records(data):
    """Yield (type, payload) for each record of one WAL file's bytes. Stops at
    the zero-filled tail; a record cut short at the end (a write in progress,
    or a crash) ends the file as it ends etcd's own read."""
    pos = 0
    size = len(data)
    while pos + 8 <= size:
        (length_field,) = struct.unpack_from("<Q", data, pos)
        if length_field == 0:
            return
        length = length_field & 0x00FFFFFFFFFFFFFF
        pad = (length_field >> 56) & 0x7 if length_field >> 63 else 0
        if length > MAX_RECORD:
            raise WalError("record at byte %d claims %d bytes" % (pos, length))
        start = pos + 8
        if start + length + pad > size:
            return  # torn tail
        parsed = fields(data[start:start + length])
        yield int(_first(parsed, 1)), _first(parsed, 3, b"")
        pos = start + length + pad


def wal_files(wal_dir):
    return sorted(name for name in os.listdir(wal_dir) if WAL_NAME.match(name))


def scan(wal_dir):
    """What a member with this WAL directory replays when it starts.

    Returns a dict: ``files``, ``snapshot_index`` (the newest committed
    snapshot record; replay starts after it), ``commit_index``,
    ``last_index``, ``entries`` (entries after the snapshot), ``v2_entries``
    and ``v2_first_index`` / ``v2_last_index`` (bare v2 requests among them,
    0 when none). Raises WalError or OSError when it cannot be read."""
    names = wal_files(wal_dir)
    snapshots = []
    commit = 0
    # (index, is it a v2 request) in log order; a record for an index at or
    # below the last one replaces the tail from there (a new leader
    # overwrote an uncommitted tail).
    indexes, v2flags = [], []
    for name in names:
        with open(os.path.join(wal_dir, name), "rb") as fh:
            data = fh.read()
        for rtype, payload in records(memoryview(data)):
            if rtype == RECORD_ENTRY:
                parsed = fields(payload)
                index = int(_first(parsed, 3))
                if indexes and index <= indexes[-1]:
                    cut = bisect.bisect_left(indexes, index)
                    del indexes[cut:], v2flags[cut:]
                body = _first(parsed, 4, b"")
                indexes.append(index)
                v2flags.append(int(_first(parsed, 1)) == ENTRY_NORMAL and bool(body) and is_v2_request(body))
            elif rtype == RECORD_STATE:
                commit = max(commit, int(_first(fields(payload), 3)))
            elif rtype == RECORD_SNAPSHOT:
                snapshots.append(int(_first(fields(payload), 1)))
    valid = [i for i in snapshots if i <= commit]
    snap = max(valid) if valid else 0
    start = bisect.bisect_right(indexes, snap)
    after = indexes[start:]
    v2 = [i for i, flag in zip(after, v2flags[start:]) if flag]
    return {
        "files": len(names),
        "snapshot_index": snap,
        "commit_index": commit,
        "last_index": after[-1] if after else snap,
        "entries": len(after),
        "v2_entries": len(v2),
        "v2_first_index": v2[0] if v2 else 0,
        "v2_last_index": v2[-1] if v2 else 0,
    }
