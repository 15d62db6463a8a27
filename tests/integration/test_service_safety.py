# -*- coding: utf-8 -*-
"""etcd_service's safety behaviour on a real 3-member lab cluster:
rolling restarts (SAFETY-11, SAFETY-12), no fresh bootstrap next to data
(SAFETY-2), no "new" while a planned peer answers (SAFETY-1), drifted modes
(SAFETY-19), certificate renewal inside the window (SAFETY-17); then, on the
same cluster (issue 5), renew_certs.yml while a writer
(molecule/shared/files/writer.py, the collection's own gateway client) puts
sequenced keys through every member, with no failed request, and
rotate_ca.yml replacing the CA."""
from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
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
    """SAFETY-11, SAFETY-12: a changed setting restarts each member once, the
    leader last, gated. The same run puts back drifted modes and owners on
    one member (SAFETY-19: keys 0600 owned by etcd, data dir 0700, the etcd
    user's login shell /usr/sbin/nologin) and the mode of the CA's directory
    on the controller (0700); the run after that changes nothing."""
    hosts, inv = cluster
    leader = leader_name(host_sh, hosts[0])
    pids = {h: main_pid(host_sh, h) for h in hosts}
    drifted = hosts[1]
    assert host_sh(drifted, f"chmod 0644 {PKI}/member.key && chown root:root {PKI}/admin.key "
                            "&& chmod 0755 /var/lib/etcd && usermod --shell /bin/bash etcd").returncode == 0
    ca_dir = Path(inv).parent / "etcd-pki" / "svc"  # the CA's directory on the controller, too
    ca_dir.chmod(0o755)

    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert run.rc == 0, run
    modes = host_sh(drifted, f"stat -c '%a %U' {PKI}/member.key {PKI}/admin.key /var/lib/etcd").stdout.split("\n")
    assert modes[:3] == ["600 etcd", "600 etcd", "700 etcd"], modes  # SAFETY-19
    shell = host_sh(drifted, "getent passwd etcd | cut -d: -f7").stdout.strip()
    assert shell == "/usr/sbin/nologin", shell  # SAFETY-19: no login shell
    assert oct(ca_dir.stat().st_mode & 0o777) == "0o700", oct(ca_dir.stat().st_mode)  # SAFETY-19
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


def test_a_run_with_only_the_service_tag_changes_nothing(cluster, ansible_playbook, host_sh):
    """`--tags service` skips the configure tasks whose results the service
    tasks read (the unit write): the run must still pass, change nothing and
    restart nothing (it failed on an undefined registered result)."""
    hosts, inv = cluster
    pids = {h: main_pid(host_sh, h) for h in hosts}
    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "--tags", "service")
    assert run.rc == 0, run
    assert all(r["changed"] == 0 for r in run.recap.values()), run
    assert all(main_pid(host_sh, h) == pids[h] for h in hosts)


def test_member_without_data_is_never_started_as_a_new_cluster(cluster, ansible_playbook, host_sh):
    hosts, inv = cluster
    lost = hosts[2]
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    assert host_sh(lost, "systemctl stop etcd && mv /var/lib/etcd/member /root/member.saved").returncode == 0
    try:
        run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
        assert run.rc != 0, run
        assert all(r["changed"] == 0 for r in run.recap.values()), run  # before any change (issue 15, item 10)
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
    if any(r["changed"] for r in healed.recap.values()):
        # It had the log level to apply (this test ran before the one that
        # sets it): the next run changes nothing.
        again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
        assert again.rc == 0, again
        assert all(r["changed"] == 0 for r in again.recap.values()), again


def test_every_data_dir_empty_is_lost_not_a_new_cluster(cluster, ansible_playbook, host_sh):
    """Issue 15, item 3 (SAFETY-22): with etcd stopped on every member and
    every member/ moved away (a data volume not mounted after a power cut),
    site.yml used to found a new, empty cluster (rc 0, a new cluster ID,
    every key gone). Each member keeps a record of its cluster outside the
    data directory: the run is refused before any change, naming the way
    out, and systemd does not start etcd on the empty directory either.
    With the data back, the same cluster comes back with its keys."""
    hosts, inv = cluster
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    assert host_sh(hosts[0], f"{ETCDCTL} put /canary/all-gone before").returncode == 0
    for h in hosts:
        record = json.loads(host_sh(h, "cat /etc/etcd/member-identity.json").stdout)
        assert record["cluster"] == "svc" and record["cluster_id"] == f"{cluster_id:x}" and record["name"] == h, record
    assert all(host_sh(h, "systemctl stop etcd").returncode == 0 for h in hosts)
    try:
        for h in hosts:
            assert host_sh(h, "mv /var/lib/etcd/member /root/member.unmounted").returncode == 0
        run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
        assert run.rc != 0, run
        assert all(r["changed"] == 0 for r in run.recap.values()), run  # refused before any change
        assert len(run.failures) == 1, run
        msg = run.failures[0].msg
        assert msg.startswith("No member of group etcd has data, but ") and "playbooks/restore.yml" in msg, msg
        assert "etcd_service_confirm_new_cluster=svc" in msg and f"ID {cluster_id:x}" in msg, msg
        # systemd itself (Restart=, an operator) does not start it either.
        started = host_sh(hosts[0], "systemctl start etcd")
        assert started.returncode != 0, started
        journal = host_sh(hosts[0], "journalctl -u etcd -n 20 --no-pager").stdout
        assert "the data is lost or not mounted. etcd is not started (SAFETY-22)" in journal, journal
        assert all(host_sh(h, "test -e /var/lib/etcd/member").returncode != 0 for h in hosts)
    finally:
        for h in hosts:
            host_sh(h, "systemctl stop etcd; mv /root/member.unmounted /var/lib/etcd/member")
    healed = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert healed.rc == 0, healed
    for h in hosts:
        status = json.loads(host_sh(h, f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]
        assert status["header"]["cluster_id"] == cluster_id, h
        assert host_sh(h, f"{ETCDCTL} get --print-value-only /canary/all-gone").stdout.strip() == "before", h


def test_a_token_other_than_the_founding_one_is_refused(cluster, ansible_playbook, host_sh):
    """SAFETY-4 (issue 15, item 10): the running cluster's token cannot change;
    a different etcd_cluster_token is refused before any change, naming both."""
    hosts, inv = cluster
    founded = host_sh(hosts[0], "sed -n 's/^initial-cluster-token: //p' /etc/etcd/etcd.conf.yml").stdout.strip()
    assert founded.startswith("svc-"), founded
    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "-e", "etcd_cluster_token=svc-other")
    assert run.rc != 0 and all(r["changed"] == 0 for r in run.recap.values()), run
    assert len(run.failures) == 1, run
    msg = run.failures[0].msg
    assert msg.startswith('etcd_cluster_token="svc-other", but the cluster was founded with') and founded in msg, msg


def test_no_new_ca_next_to_members_that_trust_one(cluster, ansible_playbook, host_sh):
    """SAFETY-26 (issue 15, item 6): the controller has lost the CA (a fresh
    clone, a moved inventory) while the members trust it. site.yml refuses
    before any host changes and names both paths, also under --limit when
    every member that holds a ca.crt is outside the play; no new CA is made
    on the controller and the cluster keeps its trust and its data."""
    hosts, inv = cluster
    ca_dir = Path(inv).parent / "etcd-pki" / "svc"
    assert (ca_dir / "ca.key").is_file(), ca_dir
    trust = {h: host_sh(h, f"sha256sum {PKI}/ca.crt").stdout.split()[0] for h in hosts}
    assert host_sh(hosts[0], f"{ETCDCTL} put /safety26/canary before").returncode == 0
    aside = ca_dir.with_name("svc.aside")

    def limited_run():
        # hosts[0] alone in the play, and without a ca.crt of its own (as a new
        # host would be): the members that trust a CA are all outside --limit.
        assert host_sh(hosts[0], f"mv {PKI}/ca.crt {PKI}/ca.crt.aside").returncode == 0
        try:
            return ansible_playbook(inv, "--limit", hosts[0])
        finally:
            host_sh(hosts[0], f"mv {PKI}/ca.crt.aside {PKI}/ca.crt")

    ca_dir.rename(aside)
    try:
        runs = {"whole group": (ansible_playbook(inv), hosts),
                "--limit": (limited_run(), hosts[1:])}
        for what, (run, trusting) in runs.items():
            assert run.rc != 0, f"{what}: {run}"
            assert all(r["changed"] == 0 for r in run.recap.values()), f"{what}: {run}"
            messages = {f.msg for f in run.failures}
            assert len(messages) == 1, f"{what}: {messages}"
            msg = messages.pop()
            assert f"{ca_dir}/ca.key" in msg, f"{what}: {msg}"
            assert all(f"{h}:{PKI}/ca.crt" in msg for h in trusting), f"{what}: {msg}"
            assert all(f"{h}:" not in msg for h in hosts if h not in trusting), f"{what}: {msg}"
            assert not ca_dir.exists(), f"{what}: a new CA was made on the controller"
    finally:
        if ca_dir.exists():
            shutil.rmtree(ca_dir)
        aside.rename(ca_dir)
    assert {h: host_sh(h, f"sha256sum {PKI}/ca.crt").stdout.split()[0] for h in hosts} == trust
    for host in hosts:
        assert host_sh(host, f"{ETCDCTL} get /safety26/canary --print-value-only").stdout.strip() == "before", host


def test_limit_does_not_hide_the_release_of_the_members_outside_the_play(cluster, ansible_playbook, host_sh):
    """SAFETY-21 with SAFETY-14 and SAFETY-23: etcd's upgrade rules are
    checked against every member of the group, not only the play's, and
    against the release each one runs, not the one its link points at. The
    two members outside --limit run etcd 3.5.16 behind a 3.6.16 link (as a
    run that switched the link and stopped before the restart leaves them:
    here the record their unit wrote at the start says 3.5.16); the play's
    member already runs the target 3.6.16, which alone would pass. Refused
    before any change, naming them."""
    hosts, inv = cluster
    record = "/run/etcd/loaded.version"
    for host in hosts[1:]:
        assert host_sh(host, f"cp {record} /root/loaded.version && echo 'etcd Version: 3.5.16' > {record}").returncode == 0
    try:
        run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "--limit", hosts[0])
    finally:
        for host in hosts[1:]:
            host_sh(host, f"cp /root/loaded.version {record}")
    assert run.rc != 0, run
    assert all(r["changed"] == 0 for r in run.recap.values()), run
    assert run.failures and all("version change" in f.task for f in run.failures), run
    msg = run.failures[0].msg
    assert all(h in msg for h in hosts[1:]) and "3.5.16" in msg, msg


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
    # A first bootstrap of part of the group is refused (SAFETY-21) ...
    limited = ansible_playbook(inv, "--limit", hosts[0])
    assert limited.rc != 0 and all(r["changed"] == 0 for r in limited.recap.values()), limited
    assert len({f.msg for f in limited.failures}) == 1, limited
    assert limited.failures[0].msg.startswith(f"No member of group etcd has data, so this run would found a new "
                                              f"cluster, but {hosts[1]}, {hosts[2]} are outside the run"), limited
    # ... and so is the whole group's, before any host changes (SAFETY-1).
    run = ansible_playbook(inv)
    assert run.rc != 0, run
    assert all(r["changed"] == 0 for r in run.recap.values()), run
    messages = " ".join(f.msg for f in run.failures)
    assert ":2380" in messages and hosts[1] in messages, run  # SAFETY-1
    for host in hosts:
        assert host_sh(host, "systemctl is-active etcd").stdout.strip() != "active"
        assert host_sh(host, "test -e /var/lib/etcd/member").returncode != 0

    # SAFETY-22: the same empty hosts, now with the record members keep of
    # the cluster they served in (as after a lost data volume): no new
    # cluster without the named confirmation; with it, a new one, recorded.
    host_sh(hosts[1], "pkill -f 'http[.]server 2380'")
    old = '{"cluster": "peer", "cluster_id": "5eed", "member_id": "1d", "name": "x"}'
    for host in hosts:
        assert host_sh(host, f"mkdir -p /etc/etcd && echo '{old}' > /etc/etcd/member-identity.json").returncode == 0
    refused = ansible_playbook(inv)
    assert refused.rc != 0 and all(r["changed"] == 0 for r in refused.recap.values()), refused
    assert "etcd_service_confirm_new_cluster=peer" in refused.failures[0].msg, refused
    confirmed = ansible_playbook(inv, "-e", "etcd_service_confirm_new_cluster=peer")
    assert confirmed.rc == 0, confirmed
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    for host in hosts:
        record = json.loads(host_sh(host, "cat /etc/etcd/member-identity.json").stdout)
        assert record["cluster_id"] == f"{cluster_id:x}" and record["name"] == host, record


def test_limit_never_splits_the_cluster_or_narrows_its_firewalls(
        cluster, lab_containers, write_inventory, lab_vars, ansible_playbook, host_sh):
    """SAFETY-21 (issue 15, items 1 and 5): --limit narrows what a run changes,
    not what it knows.

    - A fourth inventory host run alone (--limit) next to the running cluster
      used to found a second one-member cluster. It is refused before any
      change, naming the members with data outside the run.
    - A run limited to one member used to rewrite its firewall to admit only
      itself (three such runs left the cluster without a leader). It now
      keeps every member's address: nothing changes, and the cluster stays
      whole."""
    hosts, inv = cluster
    (extra,) = lab_containers("svcnew", 1)
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    # (Four members: the even size is allowed, so the check under test is the one that speaks.)
    grown = write_inventory(Path(inv).parent / "inventory-grown.json", {"etcd": hosts + [extra]},
                            all_vars=lab_vars(etcd_cluster_name="svc", etcd_cluster_allow_even_size=True))
    run = ansible_playbook(grown, "-e", "etcd_service_log_level=warn", "--limit", extra)
    assert run.rc != 0 and all(r["changed"] == 0 for r in run.recap.values()), run
    assert len(run.failures) == 1, run
    assert run.failures[0].msg.startswith(
        f"{extra} has no data, and outside this run (--limit) {', '.join(hosts)} have data."), run.failures[0].msg
    assert host_sh(extra, "systemctl is-active etcd").stdout.strip() != "active"
    assert host_sh(extra, "test -e /var/lib/etcd/member").returncode != 0
    members = json.loads(host_sh(hosts[0], f"{ETCDCTL} member list -w json").stdout)["members"]
    assert sorted(m["name"] for m in members) == sorted(hosts), members

    # A member outside the run that cannot be read (no container answers to
    # its name) and whose address the inventory does not give: refused,
    # naming it, before any change; its address is never guessed.
    ghost = f"{extra}-gone"
    haunted = write_inventory(Path(inv).parent / "inventory-ghost.json", {"etcd": hosts + [ghost]},
                              all_vars=lab_vars(etcd_cluster_name="svc", etcd_cluster_allow_even_size=True))
    run = ansible_playbook(haunted, "-e", "etcd_service_log_level=warn", "--limit", hosts[0])
    assert run.rc != 0 and all(r["changed"] == 0 for r in run.recap.values()), run
    assert [f.task for f in run.failures] == ["quorum.etcd.etcd_cluster : Check the address of every member outside this run is known"], run
    assert run.failures[0].msg.startswith(f"{ghost} is in group etcd but outside this run (--limit)"), run.failures[0].msg

    # The whole group converged with these settings first (the tests above
    # leave it so), so any change below would come from --limit.
    if any(host_sh(h, "grep -qx 'log-level: warn' /etc/etcd/etcd.conf.yml").returncode for h in hosts):
        baseline = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
        assert baseline.rc == 0, baseline
    # The run limited to one member: every member stays in its firewall.
    peer_rules = {h: host_sh(h, "nft list ruleset").stdout for h in hosts}
    limited = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "--limit", hosts[1])
    assert limited.rc == 0 and all(r["changed"] == 0 for r in limited.recap.values()), limited
    assert {h: host_sh(h, "nft list ruleset").stdout for h in hosts} == peer_rules
    # Still one cluster: a write on the first member is read on the last, and
    # every member answers with the same cluster ID.
    assert host_sh(hosts[0], f"{ETCDCTL} put /limit/canary whole").returncode == 0
    assert host_sh(hosts[2], f"{ETCDCTL} get /limit/canary --print-value-only").stdout.strip() == "whole"
    status = json.loads(host_sh(hosts[2], f"{ETCDCTL} endpoint status --cluster -w json").stdout)
    assert len(status) == 3 and {s["Status"]["header"]["cluster_id"] for s in status} == {cluster_id}, status


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


def verifies_against(host_sh, host, cafile):
    """Whether the certificate etcd serves on its client port verifies against cafile."""
    return host_sh(host, f"openssl s_client -connect 127.0.0.1:2379 -CAfile {cafile} -cert {PKI}/admin.crt "
                         f"-key {PKI}/admin.key -verify_return_error </dev/null >/dev/null 2>&1").returncode == 0


def start_writer(host_sh, docker_cp, host):
    host_sh(host, "rm -rf /root/writer && mkdir -p /root/writer")
    docker_cp(str(ROOT / "molecule/shared/files/writer.py"), f"{host}:/root/writer/writer.py")
    docker_cp(str(ROOT / "plugins/module_utils/etcd_client.py"), f"{host}:/root/writer/etcd_client.py")
    urls = [m["clientURLs"][0] for m in json.loads(host_sh(host, f"{ETCDCTL} member list -w json").stdout)["members"]]
    subprocess.run(["docker", "exec", "-d", host, "python3", "/root/writer/writer.py", ",".join(urls), PKI,
                    "/root/writer/report.json", "/root/writer/stop", "600", "100000"], check=True, timeout=60)


def stop_writer(host_sh, host):
    host_sh(host, "touch /root/writer/stop")
    for _attempt in range(60):  # bounded: the writer finishes its put and exits
        out = host_sh(host, "cat /root/writer/report.json 2>/dev/null").stdout
        if out:
            return json.loads(out)
        time.sleep(1)
    raise AssertionError("the writer wrote no report")


def test_certificates_are_renewed_inside_the_window_and_on_request_without_a_failed_request(
        cluster, ansible_playbook, host_sh, docker_cp, capsys):
    """SAFETY-17 and issue 5, on one set of short-lived certificates:

    - short-lived certificates (2 days) are renewed by a plain re-run because
      they are inside the 30-day window, the keys stay, no member restarts,
      and the new certificates are what etcd serves;
    - renew_certs.yml renews the fresh 365-day certificates on request while
      a writer puts keys through every member: no restart, no failed request,
      every acknowledged write on every member;
    - the plain run after that renews nothing (outside the window)."""
    hosts, inv = cluster
    keys = key_digests(host_sh, hosts)
    short = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "-e", "etcd_tls_cert_valid_days=2",
                             "-e", "etcd_tls_renew_days=1", "-e", "etcd_tls_force_renew=true")
    assert short.rc == 0, short
    short_served = {h: served_certificate(host_sh, h) for h in hosts}
    assert all(0 < days_left(s) <= 3 for s in short_served.values()), short_served  # etcd serves them
    pids = {h: main_pid(host_sh, h) for h in hosts}

    renewed = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")  # default window: 30 days
    assert renewed.rc == 0, renewed
    # Same keys and CA: etcd reads the new certificate at the next connection, no restart.
    assert not RESTARTED.findall(renewed.output) and {h: main_pid(host_sh, h) for h in hosts} == pids, renewed
    window_served = {h: served_certificate(host_sh, h) for h in hosts}
    for host, served in window_served.items():
        assert served["serial"] != short_served[host]["serial"], (host, served)
        assert days_left(served) > 300, (host, served)  # the renewed 365-day certificate is served
    assert key_digests(host_sh, hosts) == keys  # keys matching their certificates are kept

    start_writer(host_sh, docker_cp, hosts[0])
    time.sleep(2)
    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", playbook="playbooks/renew_certs.yml")
    report = stop_writer(host_sh, hosts[0])
    assert run.rc == 0, run
    assert not RESTARTED.findall(run.output) and {h: main_pid(host_sh, h) for h in hosts} == pids, run
    for h in hosts:  # renewed on request although far outside the window
        after = served_certificate(host_sh, h)
        assert after["serial"] != window_served[h]["serial"] and days_left(after) > 300, (h, window_served[h], after)
    assert key_digests(host_sh, hosts) == keys
    # No request failed, and every acknowledged write is on every member.
    assert report["acked"] and not report["failed"], report["failed"]
    for h in hosts:
        present = set(host_sh(h, f"{ETCDCTL} get --consistency=s --prefix /writer/ --keys-only").stdout.split())
        missing = [s for s in report["acked"] if "/writer/%07d" % s not in present]
        assert not missing, (h, missing[:5])
    with capsys.disabled():
        print(f"\nrenew_certs.yml under writes: {report['attempts']} attempts in {report['seconds']} s, "
              f"{len(report['acked'])} acknowledged, {len(report['failed'])} failed, {report['failovers']} fail-overs")

    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again
    assert not RESTARTED.findall(again.output), again


def test_rotate_ca_replaces_the_trust(cluster, ansible_playbook, host_sh, capsys):
    """Issue 5: the CA is replaced in three rolling steps; the old CA is kept on
    the controller and no longer trusted (SAFETY-17)."""
    hosts, inv = cluster
    ca_dir = inv.parent / "etcd-pki" / "svc"
    old_ca = ca_dir.joinpath("ca.crt").read_text()
    host_sh(hosts[0], f"cp {PKI}/ca.crt /root/old-ca.crt && cp {PKI}/admin.crt /root/old-admin.crt "
                      f"&& cp {PKI}/admin.key /root/old-admin.key")
    keys = key_digests(host_sh, hosts)
    started = time.monotonic()
    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", playbook="playbooks/rotate_ca.yml")
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
        assert host_sh(h, f"cat {PKI}/ca.crt").stdout.strip() == new_ca.strip(), h  # the new CA alone
        assert verifies_against(host_sh, h, f"{PKI}/ca.crt"), h
        assert days_left(served_certificate(host_sh, h)) > 300, h
    assert not verifies_against(host_sh, hosts[0], "/root/old-ca.crt")
    assert key_digests(host_sh, hosts) == keys
    refused = host_sh(hosts[0], f"etcdctl --cacert {PKI}/ca.crt --cert /root/old-admin.crt --key /root/old-admin.key "
                                "--endpoints https://127.0.0.1:2379 --command-timeout 5s get /x")
    assert refused.returncode != 0, refused  # a client certificate of the old CA is refused
    assert host_sh(hosts[0], f"{ETCDCTL} put /rotated yes").returncode == 0
    for h in hosts:
        assert host_sh(h, f"{ETCDCTL} get --consistency=s --print-value-only /rotated").stdout.strip() == "yes", h
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again


def test_a_lost_key_is_made_again_on_that_member_only(cluster, ansible_playbook, host_sh):
    """SAFETY-17, SAFETY-19: the admin key deleted on one member. Check mode
    names that member alone and writes nothing; the real run makes a new key
    on the member (0600, owned by etcd) and a certificate for it, changes no
    other member and restarts nothing (a client key is read per connection);
    the new pair is accepted by etcd."""
    hosts, inv = cluster
    lost = hosts[1]
    keys = key_digests(host_sh, hosts)
    pids = {h: main_pid(host_sh, h) for h in hosts}
    assert host_sh(lost, f"rm {PKI}/admin.key").returncode == 0

    check = ansible_playbook(inv, "-e", "etcd_service_log_level=warn", "--check")
    assert check.rc == 0, check
    assert {h for h, r in check.recap.items() if r["changed"]} == {lost}, check
    assert host_sh(lost, f"test -e {PKI}/admin.key").returncode != 0  # check mode wrote nothing

    run = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert run.rc == 0, run
    assert {h for h, r in run.recap.items() if r["changed"]} == {lost}, run
    assert not RESTARTED.findall(run.output) and {h: main_pid(host_sh, h) for h in hosts} == pids, run
    assert host_sh(lost, f"stat -c '%a %U' {PKI}/admin.key").stdout.strip() == "600 etcd"
    after = key_digests(host_sh, hosts)
    assert after[lost] != keys[lost] and all(after[h] == keys[h] for h in hosts if h != lost), after
    assert host_sh(lost, f"{ETCDCTL} put /lost-key/served yes").returncode == 0  # the new pair is accepted
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=warn")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again


def test_a_voter_that_never_started_stops_the_restart_and_the_restart_is_finished_later(
        cluster, ansible_playbook, host_sh):
    """Issue 15, items 7 and 8.
    - SAFETY-24: a voting member added but never started counts toward
      quorum. With 4 voters and 3 up, restarting any member would leave 2
      of 4, no quorum; the gate before the first restart counted only the
      members it could ask, and let it happen. It now names the voter that
      never started, and nothing restarts.
    - SAFETY-23: that refused run had already written the new configuration.
      Later runs with the same settings saw no difference and never
      restarted: the old process ran on. The next run now finds the
      restart left undone and finishes it, one member at a time, gated;
      the run after that changes nothing."""
    hosts, inv = cluster
    cluster_id = json.loads(host_sh(hosts[0], f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]["header"]["cluster_id"]
    assert host_sh(hosts[0], f"{ETCDCTL} put /canary/never-started before").returncode == 0
    added = host_sh(hosts[0], f"{ETCDCTL} member add ghost --peer-urls=https://192.0.2.7:2380 -w json")
    assert added.returncode == 0, added
    ghost = json.loads(added.stdout)["member"]["ID"]
    pids = {h: main_pid(host_sh, h) for h in hosts}
    try:
        run = ansible_playbook(inv, "-e", "etcd_service_log_level=info",
                               "-e", "etcd_service_health_retries=3", "-e", "etcd_service_health_delay=1")
        assert run.rc != 0, run
        assert [f.task for f in run.failures] == ["quorum.etcd.etcd_service : Check the cluster's health"], run
        assert "voting member <not started>" in run.failures[0].msg and "https://192.0.2.7:2380" in run.failures[0].msg, run
        assert not RESTARTED.findall(run.output), run
        assert {h: main_pid(host_sh, h) for h in hosts} == pids  # SAFETY-24: nothing restarted
    finally:
        assert host_sh(hosts[0], f"{ETCDCTL} member remove {ghost:x}").returncode == 0

    # The configuration on disk says "info", the processes still run "warn".
    finish = ansible_playbook(inv, "-e", "etcd_service_log_level=info")
    assert finish.rc == 0, finish
    assert sorted(RESTARTED.findall(finish.output)) == sorted(hosts), finish  # SAFETY-23: finished
    assert "restarts to load what an earlier run wrote: /etc/etcd/etcd.conf.yml changed since etcd started: log-level" \
        in re.sub(r"\s+", " ", finish.output), finish
    assert all(main_pid(host_sh, h) != pids[h] for h in hosts)
    again = ansible_playbook(inv, "-e", "etcd_service_log_level=info")
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again
    assert not RESTARTED.findall(again.output), again
    for h in hosts:
        # What each start recorded: the binary and version it runs.
        record = host_sh(h, "cat /run/etcd/loaded.exe /run/etcd/loaded.version; readlink -f /usr/local/bin/etcd").stdout.split("\n")
        assert record[0] == record[-2] and record[1].startswith("etcd Version: "), record
        status = json.loads(host_sh(h, f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]
        assert status["header"]["cluster_id"] == cluster_id, h
        assert host_sh(h, f"{ETCDCTL} get --print-value-only /canary/never-started").stdout.strip() == "before", h
