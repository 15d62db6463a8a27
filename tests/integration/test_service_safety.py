# -*- coding: utf-8 -*-
"""etcd_service's safety behaviour on a real 3-member lab cluster:
rolling restarts (SAFETY-11, SAFETY-12), no fresh bootstrap next to data
(SAFETY-2), no "new" while a planned peer answers (SAFETY-1)."""
from __future__ import annotations

import datetime
import json
import re

import pytest

pytestmark = pytest.mark.lab

PKI = "/etc/etcd/pki"
RESTARTED = re.compile(r"^TASK \[quorum\.etcd\.etcd_service : Restart (\S+)\]", re.M)
ETCDCTL = (f"ETCDCTL_API=3 etcdctl --cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key "
           "--endpoints https://127.0.0.1:2379")


def main_pid(host_sh, host):
    return host_sh(host, "systemctl show -p MainPID --value etcd").stdout.strip()


def leader_name(host_sh, host):
    """The leader's member name, read with etcdctl (independent of our modules)."""
    status = json.loads(host_sh(host, f"{ETCDCTL} endpoint status --cluster -w json").stdout)
    members = json.loads(host_sh(host, f"{ETCDCTL} member list -w json").stdout)["members"]
    names = {m["ID"]: m["name"] for m in members}
    leaders = {s["Status"]["leader"] for s in status}
    assert len(leaders) == 1, status
    return names[leaders.pop()]


@pytest.fixture(scope="module")
def cluster(lab_containers, write_inventory, lab_vars, ansible_playbook, tmp_path_factory):
    hosts = lab_containers("svc", 3)
    inv = write_inventory(tmp_path_factory.mktemp("svc") / "inventory.json", {"etcd": hosts},
                          all_vars=lab_vars(etcd_cluster_name="svc"))
    run = ansible_playbook(inv)
    assert run.rc == 0, run
    return hosts, inv


def test_changed_config_restarts_one_member_at_a_time_leader_last(cluster, ansible_playbook, host_sh):
    hosts, inv = cluster
    leader = leader_name(host_sh, hosts[0])
    pids = {h: main_pid(host_sh, h) for h in hosts}

    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert run.rc == 0, run
    restarted = RESTARTED.findall(run.output)
    gates = re.findall(r"^TASK \[quorum\.etcd\.etcd_service : Wait until every member answers", run.output, re.M)
    assert sorted(restarted) == sorted(hosts), run  # each member once
    assert restarted[-1] == leader, run  # SAFETY-12: the leader last
    assert len(gates) >= 1 + len(hosts), run  # SAFETY-11 before, SAFETY-12 after each member
    assert all(main_pid(host_sh, h) != pids[h] for h in hosts)

    # The change is now in place: the same run again changes and restarts nothing.
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0, again
    assert all(r["changed"] == 0 for r in again.recap.values()), again
    assert not RESTARTED.findall(again.output), again


def test_member_without_data_is_never_started_as_a_new_cluster(cluster, ansible_playbook, host_sh):
    hosts, inv = cluster
    lost = hosts[2]
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    assert host_sh(lost, "systemctl stop etcd && mv /var/lib/etcd/member /root/member.saved").returncode == 0
    try:
        run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
        assert run.rc != 0, run
        messages = " ".join(f.msg for f in run.failures)
        assert lost in messages and "replace_member.yml" in messages, run  # SAFETY-2: says what to do
        assert host_sh(lost, "systemctl is-active etcd").stdout.strip() != "active"
        assert host_sh(lost, "test -e /var/lib/etcd/member").returncode != 0  # nothing bootstrapped there
        # The two others still form the same cluster.
        status = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)
        assert status[0]["Status"]["header"]["cluster_id"] == cluster_id
    finally:
        host_sh(lost, "mv /root/member.saved /var/lib/etcd/member && systemctl start etcd")
    healed = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert healed.rc == 0, healed
    # Whatever that run had to apply (this test may run first), the next one changes nothing.
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0, again
    assert all(r["changed"] == 0 for r in again.recap.values()), again


def test_no_bootstrap_while_a_planned_peer_answers(lab_containers, write_inventory, lab_vars, ansible_playbook,
                                                    host_sh, tmp_path_factory):
    hosts = lab_containers("peer", 3)
    inv = write_inventory(tmp_path_factory.mktemp("peer") / "inventory.json", {"etcd": hosts},
                          all_vars=lab_vars(etcd_cluster_name="peer"))
    # Something already serves on the second member's peer port (an etcd with
    # its data elsewhere, say). Bounded: it exits by itself.
    host_sh(hosts[1], "nohup timeout 600 python3 -m http.server 2380 >/dev/null 2>&1 &")
    assert host_sh(hosts[1], "for i in 1 2 3 4 5 6 7 8 9 10; do "
                            "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 2380), 1)' "
                            "&& exit 0; sleep 0.5; done; exit 1").returncode == 0
    run = ansible_playbook(inv)
    assert run.rc != 0, run
    messages = " ".join(f.msg for f in run.failures)
    assert ":2380" in messages and hosts[1] in messages, run  # SAFETY-1
    for host in hosts:
        assert host_sh(host, "systemctl is-active etcd").stdout.strip() != "active"
        assert host_sh(host, "test -e /var/lib/etcd/member").returncode != 0


def served_certificate(host_sh, host):
    """Serial and end date of the certificate etcd serves on its client port."""
    out = host_sh(host, f"openssl s_client -connect 127.0.0.1:2379 -CAfile {PKI}/ca.crt -cert {PKI}/admin.crt "
                        f"-key {PKI}/admin.key </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def days_left(served):
    end = datetime.datetime.strptime(served["notAfter"], "%b %d %H:%M:%S %Y %Z")
    return (end - datetime.datetime.utcnow()).total_seconds() / 86400


def key_digests(host_sh, hosts):
    return {h: host_sh(h, f"sha256sum {PKI}/member.key {PKI}/admin.key").stdout for h in hosts}


def test_drifted_modes_and_owners_are_put_back(cluster, ansible_playbook, host_sh):
    """SAFETY-19: keys 0600 owned by etcd, data dir 0700: a re-run corrects drift."""
    hosts, inv = cluster
    drifted = hosts[1]
    assert host_sh(drifted, f"chmod 0644 {PKI}/member.key && chown root:root {PKI}/admin.key "
                            "&& chmod 0755 /var/lib/etcd").returncode == 0
    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert run.rc == 0, run
    assert run.recap[drifted]["changed"] >= 1, run
    modes = host_sh(drifted, f"stat -c '%a %U' {PKI}/member.key {PKI}/admin.key /var/lib/etcd").stdout.split("\n")
    assert modes[:3] == ["600 etcd", "600 etcd", "700 etcd"], modes
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again


def test_certificates_are_renewed_inside_the_window_only_and_keep_their_keys(cluster, ansible_playbook, host_sh):
    """SAFETY-17: short-lived certificates (2 days) are renewed by a plain
    re-run because they are inside the 30-day window; the keys stay; the new
    certificates are what etcd serves; the run after that renews nothing."""
    hosts, inv = cluster
    keys = key_digests(host_sh, hosts)
    short = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "-e", "etcd_tls_cert_valid_days=2",
                             "-e", "etcd_tls_renew_days=1", "-e", "etcd_tls_force_renew=true")
    assert short.rc == 0, short
    short_served = {h: served_certificate(host_sh, h) for h in hosts}
    assert all(0 < days_left(s) <= 3 for s in short_served.values()), short_served  # etcd serves them
    renewed = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")  # default window: 30 days
    assert renewed.rc == 0, renewed
    assert sorted(RESTARTED.findall(renewed.output)) == sorted(hosts), renewed  # rolling, one at a time
    for host in hosts:
        served = served_certificate(host_sh, host)
        assert served["serial"] != short_served[host]["serial"], (host, served)
        assert days_left(served) > 300, (host, served)  # the renewed 365-day certificate is served
    assert key_digests(host_sh, hosts) == keys  # keys matching their certificates are kept
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again
    assert not RESTARTED.findall(again.output), again
