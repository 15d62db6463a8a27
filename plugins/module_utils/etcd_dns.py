# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""DNS SRV lookups with the standard library only (no dnspython on the
members): one question to the resolvers of /etc/resolv.conf over UDP, again
over TCP when the answer was cut short. Enough for etcd's DNS discovery
(``_etcd-server-ssl._tcp.<domain>``); nothing is cached."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import socket
import struct

TYPE_SRV = 33
CLASS_IN = 1
RCODES = {1: "format error", 2: "server failure", 3: "no such name (NXDOMAIN)", 4: "not implemented",
          5: "refused"}


class DnsError(Exception):
    """A lookup that could not be answered; the message says why."""


def nameservers(resolv_conf="/etc/resolv.conf"):
    """The nameserver addresses of resolv.conf, in order (127.0.0.1 when it
    names none, as the C library does)."""
    found = []
    try:
        with open(resolv_conf) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    found.append(parts[1].split("%")[0])
    except (IOError, OSError):
        pass
    return found or ["127.0.0.1"]


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        try:
            raw = label.encode("ascii")
        except UnicodeError:
            raw = b""
        if not raw or len(raw) > 63:
            raise DnsError("%r is not a valid DNS name" % name)
        out += struct.pack("!B", len(raw)) + raw
    return out + b"\x00"


def query(qid, name, qtype=TYPE_SRV):
    """A recursive query message for ``name``."""
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def read_name(msg, offset):
    """(name, offset after it) of the name at ``offset``, following
    compression pointers (bounded, so a loop in a bad answer ends)."""
    labels, end, jumps = [], None, 0
    while True:
        if offset >= len(msg):
            raise DnsError("truncated name in the answer")
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(msg):
                raise DnsError("truncated name in the answer")
            if end is None:
                end = offset + 2
            jumps += 1
            if jumps > 64:
                raise DnsError("a name in the answer points in a loop")
            offset = ((length & 0x3F) << 8) | msg[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else offset + 1)
        labels.append(msg[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length


def parse_srv(msg, qid):
    """The SRV records of an answer to query ``qid``: a list of dicts
    (target without its trailing dot, port, priority, weight), sorted by
    priority, then weight, then target. Raises DnsError on an error code."""
    if len(msg) < 12:
        raise DnsError("short answer (%d bytes)" % len(msg))
    rid, flags, qdcount, ancount = struct.unpack("!HHHH", msg[:8])
    if rid != qid:
        raise DnsError("answer to another query")
    rcode = flags & 0x000F
    if rcode:
        raise DnsError(RCODES.get(rcode, "error code %d" % rcode))
    offset = 12
    for _question in range(qdcount):
        _name, offset = read_name(msg, offset)
        offset += 4
    records = []
    for _answer in range(ancount):
        _name, offset = read_name(msg, offset)
        if offset + 10 > len(msg):
            raise DnsError("truncated record in the answer")
        rtype, _rclass, _ttl, rdlength = struct.unpack("!HHIH", msg[offset:offset + 10])
        offset += 10
        if rtype == TYPE_SRV:
            if rdlength < 7 or offset + rdlength > len(msg):
                raise DnsError("truncated SRV record in the answer")
            priority, weight, port = struct.unpack("!HHH", msg[offset:offset + 6])
            target, _end = read_name(msg, offset + 6)
            records.append({"target": target.rstrip(".").lower(), "port": port, "priority": priority,
                            "weight": weight})
        offset += rdlength
    return sorted(records, key=lambda r: (r["priority"], -r["weight"], r["target"], r["port"]))


def _connect(server, kind, timeout, port):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        sock.settimeout(timeout)
        sock.connect((server, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise DnsError("the server closed the TCP connection")
        data += chunk
    return data


def _udp(server, message, timeout, port=53):
    sock = _connect(server, socket.SOCK_DGRAM, timeout, port)
    try:
        sock.send(message)
        return sock.recv(65535)
    finally:
        sock.close()


def _tcp(server, message, timeout, port=53):
    """The same question over TCP, each message behind its 2-byte length."""
    sock = _connect(server, socket.SOCK_STREAM, timeout, port)
    try:
        sock.sendall(struct.pack("!H", len(message)) + message)
        length = struct.unpack("!H", _recv_exact(sock, 2))[0]
        return _recv_exact(sock, length)
    finally:
        sock.close()


def lookup_srv(name, servers=None, timeout=2.0, attempts=2, port=53):
    """The SRV records of ``name`` (see parse_srv), asked of each server in
    turn (on ``port``) until one answers; DnsError names each server's
    failure."""
    failures = []
    for server in servers or nameservers():
        for _attempt in range(attempts):
            qid = random.randint(0, 0xFFFF)
            message = query(qid, name)
            try:
                answer = _udp(server, message, timeout, port)
                if len(answer) >= 4 and struct.unpack("!H", answer[2:4])[0] & 0x0200:
                    answer = _tcp(server, message, timeout, port)
                return parse_srv(answer, qid)
            except socket.timeout:
                failures.append("%s: no answer within %g s" % (server, timeout))
            except (OSError, socket.error) as exc:
                failures.append("%s: %s" % (server, os.strerror(exc.errno) if exc.errno else exc))
                break
            except DnsError as exc:
                if "NXDOMAIN" in str(exc):
                    raise DnsError("%s: %s" % (server, exc))
                failures.append("%s: %s" % (server, exc))
                break
    raise DnsError("; ".join(failures) or "no nameserver to ask")
