# -*- coding: utf-8 -*-
"""Certificate renewal and CA rotation on a real 3-member lab cluster
(issue 5, SAFETY-11, SAFETY-12, SAFETY-17). Certificates are issued for
two days; renew_certs.yml renews them one member at a time while a writer
(molecule/shared/files/writer.py, the collection's own gateway client) puts
sequenced keys through every member: afterwards every member serves a new
certificate (new serial, a year left, same key) and no client request
failed. rotate_ca.yml then replaces the CA: every member serves a
certificate of the new CA, a client certificate of the old CA is refused,
the old CA is kept on the controller, and a re-run changes nothing."""
from __future__ import annotations

import datetime
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PKI = "/etc/etcd/pki"
ETCDCTL = (f"etcdctl --cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key "
           "--endpoints https://127.0.0.1:2379")


@pytest.fixture(scope="module")
def cluster(lab_containers, write_inventory, lab_vars, ansible_playbook, tmp_path_factory):
    hosts = lab_containers("crt", 3)
    base = tmp_path_factory.mktemp("crt")
    inv = write_inventory(base / "inventory.json", {"etcd": hosts},
                          all_vars=lab_vars(etcd_cluster_name="crt", etcd_tls_cert_valid_days=2,
                                            etcd_tls_renew_days=1))
    run = ansible_playbook(inv)
    assert run.rc == 0, run
    return hosts, inv, base / "etcd-pki" / "crt"


def served(host_sh, host, cafile=f"{PKI}/ca.crt"):
    """Serial, end date, issuer and whether the chain verifies against cafile,
    for the certificate etcd serves on its client port."""
    out = host_sh(host, f"openssl s_client -connect 127.0.0.1:2379 -CAfile {cafile} -cert {PKI}/admin.crt "
                        f"-key {PKI}/admin.key -verify_return_error </dev/null 2>/dev/null "
                        "| openssl x509 -noout -serial -enddate -issuer").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def days_left(cert):
    end = datetime.datetime.strptime(cert["notAfter"], "%b %d %H:%M:%S %Y %Z")
    return (end - datetime.datetime.utcnow()).total_seconds() / 86400


def key_digests(host_sh, hosts):
    return {h: host_sh(h, f"sha256sum {PKI}/member.key {PKI}/admin.key").stdout for h in hosts}


def start_writer(host_sh, docker_cp, host):
    host_sh(host, "rm -rf /root/writer && mkdir -p /root/writer")
    docker_cp(str(ROOT / "molecule/shared/files/writer.py"), f"{host}:/root/writer/writer.py")
    docker_cp(str(ROOT / "plugins/module_utils/etcd_client.py"), f"{host}:/root/writer/etcd_client.py")
    urls = [m["clientURLs"][0] for m in json.loads(host_sh(host, f"{ETCDCTL} member list -w json").stdout)["members"]]
    subprocess.run(["docker", "exec", "-d", host, "python3", "/root/writer/writer.py", ",".join(urls), PKI,
                    "/root/writer/report.json", "/root/writer/stop", "600", "100000"], check=True, timeout=60)


def stop_writer(host_sh, host):
    host_sh(host, "touch /root/writer/stop")
    for _ in range(60):  # bounded: the writer finishes its put and exits
        out = host_sh(host, "cat /root/writer/report.json 2>/dev/null").stdout
        if out:
            return json.loads(out)
        time.sleep(1)
    raise AssertionError("the writer wrote no report")


def test_renewal_serves_new_certificates_without_a_failed_request(cluster, ansible_playbook, host_sh, docker_cp,
                                                                  capsys):
    hosts, inv, _ca = cluster
    before = {h: served(host_sh, h) for h in hosts}
    assert all(days_left(c) < 2.1 for c in before.values()), before
    keys = key_digests(host_sh, hosts)
    start_writer(host_sh, docker_cp, hosts[0])
    time.sleep(2)
    run = ansible_playbook(inv, "-e", "etcd_tls_cert_valid_days=365", playbook="playbooks/renew_certs.yml")
    report = stop_writer(host_sh, hosts[0])
    assert run.rc == 0, run
    restarts = re.findall(r"^TASK \[quorum\.etcd\.etcd_service : Restart (\S+)\]", run.output, re.M)
    assert sorted(restarts) == sorted(hosts), run  # one member at a time, each once (SAFETY-12)
    after = {h: served(host_sh, h) for h in hosts}
    for h in hosts:
        assert after[h]["serial"] != before[h]["serial"] and days_left(after[h]) > 300, (h, before[h], after[h])
    assert key_digests(host_sh, hosts) == keys  # SAFETY-17: keys kept
    # Every acknowledged write is on every member; no request failed.
    assert report["acked"] and not report["failed"], report["failed"]
    for h in hosts:
        present = set(host_sh(h, f"{ETCDCTL} get --consistency=s --prefix /writer/ --keys-only").stdout.split())
        missing = [s for s in report["acked"] if "/writer/%07d" % s not in present]
        assert not missing, (h, missing[:5])
    with capsys.disabled():
        print(f"\nrenew_certs.yml under writes: {report['attempts']} attempts in {report['seconds']} s, "
              f"{len(report['acked'])} acknowledged, {len(report['failed'])} failed, {report['failovers']} fail-overs")


def test_ca_rotation_replaces_the_trust_without_downtime(cluster, ansible_playbook, host_sh, docker_cp, capsys):
    hosts, inv, ca_dir = cluster
    old_ca = ca_dir.joinpath("ca.crt").read_text()
    host_sh(hosts[0], f"cp {PKI}/ca.crt /root/old-ca.crt && cp {PKI}/admin.crt /root/old-admin.crt "
                      f"&& cp {PKI}/admin.key /root/old-admin.key")
    keys = key_digests(host_sh, hosts)
    started = time.monotonic()
    run = ansible_playbook(inv, "-e", "etcd_tls_cert_valid_days=365", playbook="playbooks/rotate_ca.yml")
    elapsed = time.monotonic() - started
    assert run.rc == 0, run
    with capsys.disabled():
        print(f"\nrotate_ca.yml, 3 members: {elapsed:.1f} s")
    new_ca = ca_dir.joinpath("ca.crt").read_text()
    assert new_ca != old_ca
    retired = list(ca_dir.glob("retired-*/ca.crt"))
    assert len(retired) == 1 and retired[0].read_text() == old_ca, retired  # the old CA kept on the controller
    assert not (ca_dir / "next").exists() and not (ca_dir / "previous").exists()
    for h in hosts:
        node_ca = host_sh(h, f"cat {PKI}/ca.crt").stdout
        assert node_ca.strip() == new_ca.strip(), h  # the new CA alone
        cert = served(host_sh, h)
        assert cert and days_left(cert) > 300, (h, cert)  # verifies against the new CA
    assert not served(host_sh, hosts[0], cafile="/root/old-ca.crt")  # and no longer against the old one
    assert key_digests(host_sh, hosts) == keys  # SAFETY-17: keys kept
    refused = host_sh(hosts[0], "etcdctl --cacert /etc/etcd/pki/ca.crt --cert /root/old-admin.crt "
                                "--key /root/old-admin.key --endpoints https://127.0.0.1:2379 "
                                "--command-timeout 5s get /x")
    assert refused.returncode != 0, refused  # a client certificate of the old CA is refused
    assert host_sh(hosts[0], f"{ETCDCTL} put /rotated yes").returncode == 0
    for h in hosts:
        got = host_sh(h, f"{ETCDCTL} get --consistency=s --print-value-only /rotated").stdout.strip()
        assert got == "yes", h
    again = ansible_playbook(inv, "-e", "etcd_tls_cert_valid_days=365")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again
