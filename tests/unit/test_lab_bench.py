# -*- coding: utf-8 -*-
"""The bench's side-by-side run (tools/labkit/bench.py): the certificates it
makes for the peer role, and its table. The runs themselves need the lab
and a checkout of the peer role (README, "Speed")."""

from __future__ import annotations

import argparse
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from labkit import bench  # tools/labkit


def test_peer_certificates_name_every_member_and_chain_to_the_ca(tmp_path):
    names, ips = ["peerb-1", "peerb-2"], ["172.18.0.5", "172.18.0.6"]
    bench.peer_certificates(str(tmp_path / "certs"), names, ips)
    files = sorted(p.name for p in (tmp_path / "certs").iterdir())
    assert files == ["ca-etcd-key.pem", "ca-etcd.pem", "cert-etcd-peer-key.pem", "cert-etcd-peer.pem",
                     "cert-etcd-server-key.pem", "cert-etcd-server.pem"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in (tmp_path / "certs").iterdir())
    ca = x509.load_pem_x509_certificate((tmp_path / "certs" / "ca-etcd.pem").read_bytes())
    for kind in ("server", "peer"):
        cert = x509.load_pem_x509_certificate((tmp_path / "certs" / f"cert-etcd-{kind}.pem").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == names
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(i) for i in [*ips, "127.0.0.1"]]
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.SERVER_AUTH in usage and ExtendedKeyUsageOID.CLIENT_AUTH in usage
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))


def test_the_table_puts_the_peer_beside_ours_with_the_ratio():
    rows = {"first converge (blank containers)": {"ours": (27.7, 119, 40), "peer": (29.1, 18, 33)},
            "idempotent re-run #1": {"ours": (12.4, 87, 0), "peer": (19.1, 18, 0)},
            "add_member.yml, one member to 3": {"ours": (36.4, 149, 22)}}
    args = argparse.Namespace(members=3, version="3.5.35", peer="/x")
    lines = bench.table(rows, args).splitlines()
    assert lines[0] == ("| step (3 members, etcd 3.5.35, docker connection, pipelining) | seconds | task headers "
                        "| changed | peer seconds | peer task headers | peer changed | ours / peer |")
    assert all(line.count("|") == 9 for line in lines)
    assert lines[2] == "| first converge (blank containers) | 27.7 | 119 | 40 | 29.1 | 18 | 33 | 0.95 |"
    assert lines[4] == "| add_member.yml, one member to 3 | 36.4 | 149 | 22 | | | | |"
    alone = bench.table({"idempotent re-run #1": {"ours": (12.4, 87, 0)}}, argparse.Namespace(
        members=3, version=None, peer=None)).splitlines()
    assert alone[0].endswith("| seconds | task headers | changed |") and alone[2] == "| idempotent re-run #1 | 12.4 | 87 | 0 |"


def test_the_upgrade_step_goes_to_the_next_minor_line_of_the_lab():
    assert bench.next_line("3.5.35") == bench.LINES["3.6"]
    assert bench.next_line("3.6.16") == bench.LINES["3.7"]
    assert bench.next_line("3.7.3") is None
