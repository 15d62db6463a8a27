# -*- coding: utf-8 -*-
"""The standard-library SRV lookup (etcd's DNS discovery, issue 18) against
a DNS server made here on loopback: real UDP and TCP sockets, answers built
the way servers write them (compressed names, several records, error
codes, cut-short answers that send the client to TCP). The lookup against
Debian's dnsmasq is in tests/integration/test_discovery.py."""
from __future__ import annotations

import socket
import struct
import threading

import pytest
from ansible_collections.quorum.etcd.plugins.module_utils import etcd_dns
from ansible_collections.quorum.etcd.plugins.modules import etcd_node_info

NAME = "_etcd-server-ssl._tcp.etcd.lab"


def answer(message, records, rcode=0, truncated=False):
    """A reply to ``message``: the question echoed, then one SRV record per
    (priority, weight, port, target), the owner name a pointer to the
    question (offset 12) as servers compress it."""
    qid = struct.unpack("!H", message[:2])[0]
    question = message[12:]
    flags = 0x8180 | rcode | (0x0200 if truncated else 0)
    out = struct.pack("!HHHHHH", qid, flags, 1, len(records), 0, 0) + question
    for priority, weight, port, target in records:
        rdata = struct.pack("!HHH", priority, weight, port) + etcd_dns.encode_name(target)
        out += struct.pack("!HHHIH", 0xC00C, etcd_dns.TYPE_SRV, etcd_dns.CLASS_IN, 60, len(rdata)) + rdata
    return out


class Server:
    """UDP and TCP on one loopback port; ``udp``/``tcp`` make the replies."""

    def __init__(self, udp, tcp=None):
        self.udp_reply, self.tcp_reply, self.asked = udp, tcp, []
        self.usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.usock.bind(("127.0.0.1", 0))
        self.port = self.usock.getsockname()[1]
        self.tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tsock.bind(("127.0.0.1", self.port))
        self.tsock.listen(2)
        self.usock.settimeout(5)
        self.tsock.settimeout(5)
        threading.Thread(target=self._udp, daemon=True).start()
        threading.Thread(target=self._tcp, daemon=True).start()

    def _udp(self):
        for _turn in range(4):
            try:
                message, peer = self.usock.recvfrom(512)
            except OSError:
                return
            self.asked.append(("udp", message))
            reply = self.udp_reply(message)
            if reply is not None:
                self.usock.sendto(reply, peer)

    def _tcp(self):
        try:
            conn, _peer = self.tsock.accept()
        except OSError:
            return
        with conn:
            length = struct.unpack("!H", conn.recv(2))[0]
            message = conn.recv(length)
            self.asked.append(("tcp", message))
            reply = self.tcp_reply(message)
            conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self):
        self.usock.close()
        self.tsock.close()


@pytest.fixture
def serve():
    made = []

    def start(udp, tcp=None):
        made.append(Server(udp, tcp))
        return made[-1]

    yield start
    for server in made:
        server.close()


def test_records_are_read_and_sorted_with_compressed_names(serve):
    records = [(10, 0, 2380, "b.etcd.lab."), (0, 5, 2380, "C.etcd.lab"), (0, 50, 2380, "a.etcd.lab")]
    server = serve(lambda m: answer(m, records))
    records = etcd_dns.lookup_srv(NAME, servers=["127.0.0.1"], timeout=2, port=server.port)
    assert [(r["target"], r["port"], r["priority"], r["weight"]) for r in records] == [
        ("a.etcd.lab", 2380, 0, 50), ("c.etcd.lab", 2380, 0, 5), ("b.etcd.lab", 2380, 10, 0)]
    kind, message = server.asked[0]
    assert kind == "udp" and etcd_dns.read_name(message, 12)[0] == NAME
    assert struct.unpack("!HH", message[-4:]) == (etcd_dns.TYPE_SRV, etcd_dns.CLASS_IN)


def test_a_cut_short_answer_is_asked_again_over_tcp(serve):
    server = serve(lambda m: answer(m, [], truncated=True), tcp=lambda m: answer(m, [(0, 0, 2380, "x.etcd.lab")]))
    records = etcd_dns.lookup_srv(NAME, servers=["127.0.0.1"], timeout=2, port=server.port)
    assert [r["target"] for r in records] == ["x.etcd.lab"]
    assert [kind for kind, _m in server.asked] == ["udp", "tcp"]


def test_no_such_name_is_an_error_naming_the_server(serve):
    server = serve(lambda m: answer(m, [], rcode=3))
    with pytest.raises(etcd_dns.DnsError, match=r"127\.0\.0\.1: no such name \(NXDOMAIN\)"):
        etcd_dns.lookup_srv(NAME, servers=["127.0.0.1"], timeout=2, port=server.port)


def test_a_silent_server_is_an_error_after_the_attempts(serve):
    server = serve(lambda m: None)
    with pytest.raises(etcd_dns.DnsError, match=r"no answer within 0\.3 s; 127\.0\.0\.1: no answer"):
        etcd_dns.lookup_srv(NAME, servers=["127.0.0.1"], timeout=0.3, attempts=2, port=server.port)
    assert len(server.asked) == 2


def test_an_answer_to_another_query_and_a_pointer_loop_are_refused():
    message = etcd_dns.query(7, NAME)
    with pytest.raises(etcd_dns.DnsError, match="another query"):
        etcd_dns.parse_srv(answer(etcd_dns.query(8, NAME), []), 7)
    looped = struct.pack("!HHHHHH", 7, 0x8180, 0, 1, 0, 0) + struct.pack("!H", 0xC00C)
    with pytest.raises(etcd_dns.DnsError, match="loop"):
        etcd_dns.parse_srv(looped, 7)
    assert etcd_dns.parse_srv(answer(message, []), 7) == []


def test_nameservers_of_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch lab\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\noptions ndots:0\n")
    assert etcd_dns.nameservers(str(conf)) == ["10.0.0.2", "fe80::1"]
    assert etcd_dns.nameservers(str(tmp_path / "none")) == ["127.0.0.1"]


def test_bad_names_are_refused_before_asking():
    for bad in ("a..b", "x" * 64 + ".lab", ""):
        with pytest.raises(etcd_dns.DnsError, match="not a valid DNS name"):
            etcd_dns.encode_name(bad)


def test_node_info_reports_records_with_addresses_and_failures():
    def lookup(name):
        if name == "bad":
            raise etcd_dns.DnsError("127.0.0.1: no such name (NXDOMAIN)")
        return [{"target": "localhost", "port": 2380, "priority": 0, "weight": 0},
                {"target": "nowhere.invalid", "port": 2380, "priority": 0, "weight": 0}]

    out = etcd_node_info.srv_info([NAME, "bad"], lookup=lookup)
    assert out["bad"] == {"records": [], "error": "127.0.0.1: no such name (NXDOMAIN)"}
    assert out[NAME]["error"] is None
    by_target = {r["target"]: r["addresses"] for r in out[NAME]["records"]}
    assert "127.0.0.1" in by_target["localhost"] and by_target["nowhere.invalid"] == []
