# -*- coding: utf-8 -*-
"""Certificate expiry (issue 18, item 3) on the shared cluster: status.yml
reports when every member's client and peer certificate and the CA expire,
read from the TLS handshakes and the CA file, and names those within the
window; site.yml warns about them after its health gate and changes
nothing. The days are checked against the files on the members, read with
openssl's view through Python's ssl module inside the container."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.lab

PKI = "/etc/etcd/pki"
ROW = re.compile(r"^\s*(ca|client|peer)\s+(\S+(?: etcd CA)?)\s+(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s+(-?\d+)\s*$", re.M)


def file_not_after(host_sh, host, path):
    """The notAfter of a PEM file on the member, as the status reports it."""
    code = ("import ssl,sys,time; c=ssl._ssl._test_decode_cert(sys.argv[1]); "
            "print(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ssl.cert_time_to_seconds(c['notAfter']))))")
    res = host_sh(host, f"python3 -c \"{code}\" {path}")
    assert res.returncode == 0, res
    return res.stdout.strip()


def test_status_reports_every_certificates_expiry_and_names_those_in_the_window(
        shared_cluster, ansible_playbook, host_sh):
    hosts, inv = shared_cluster.hosts, shared_cluster.inventory
    # Certificates are issued for 365 days and the CA for 3650: a window of
    # 400 days names the six member certificates, not the CA.
    run = ansible_playbook(inv, "-e", "etcd_tls_renew_days=400", playbook="playbooks/status.yml")
    assert run.rc == 0 and all(r["changed"] == 0 for r in run.recap.values()), run
    rows = {(kind, who): (not_after, int(days)) for kind, who, not_after, days in ROW.findall(run.output)}
    assert sorted(k for k in rows if k[0] != "ca") == sorted((kind, h) for h in hosts for kind in ("client", "peer"))
    ca = [v for k, v in rows.items() if k[0] == "ca"]
    assert len(ca) == 1 and 3600 < ca[0][1] <= 3650, rows
    assert ca[0][0] == file_not_after(host_sh, hosts[0], f"{PKI}/ca.crt")
    for host in hosts:
        # The member certificate serves both ports (etcd_tls issues one per member).
        served = file_not_after(host_sh, host, f"{PKI}/member.crt")
        for kind in ("client", "peer"):
            not_after, days = rows[(kind, host)]
            assert not_after == served and 360 <= days <= 365, (kind, host, rows)
    expiring = re.findall(r"expiring: the (client|peer) certificate of member (\S+) \(https://\S+\) expires in (\d+) days",
                          run.output)
    assert sorted((k, h) for k, h, _d in expiring) == sorted((kind, h) for h in hosts for kind in ("client", "peer"))
    assert "expiring: the CA certificate" not in run.output

    # site.yml reads the same in its health gate and warns, changing nothing.
    again = ansible_playbook(inv, "-e", "etcd_service_gate_expiry_days=4000")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again
    warning = re.search(r"WARNING: (.*?)Renew the members", again.output, re.S)  # YAML doubles the '
    assert warning, again
    text = " ".join(warning.group(1).split())
    assert "the CA certificate" in text and all(f"certificate of member {h} " in text for h in hosts), text
