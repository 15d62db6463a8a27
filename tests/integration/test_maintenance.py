# -*- coding: utf-8 -*-
"""playbooks/maintenance.yml on real lab containers (issue 5, maintenance
part). A cluster deployed with a 16 MiB backend quota is filled until etcd
raises NOSPACE and refuses writes; the playbook compacts, defragments every
member one at a time with the leader last (SAFETY-12) and disarms the alarm,
after which writes go through and no alarm is left. A re-run changes
nothing. Invalid settings are refused before anything runs (SAFETY-20)."""
from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.lab

PKI = "/etc/etcd/pki"
ETCDCTL = (f"ETCDCTL_API=3 etcdctl --cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key "
           "--endpoints https://127.0.0.1:2379")
MIB = 1024 * 1024
QUOTA = 16 * MIB
# 200 puts of 384 KiB: bounded, and about five times the quota.
FILL = (f"head -c 393216 /dev/urandom | base64 -w0 > /tmp/fill && "
        f"for i in $(seq 1 200); do {ETCDCTL} put /fill < /tmp/fill >/dev/null 2>/tmp/fill.err || break; done; "
        "echo \"puts=$((i - 1))\"; cat /tmp/fill.err")


@pytest.fixture(scope="module")
def cluster(shared_cluster):
    """The session's shared cluster (conftest), deployed with a 16 MiB
    backend quota; these tests leave it healthy, its alarm disarmed."""
    assert shared_cluster.quota == QUOTA, shared_cluster
    return shared_cluster.hosts, shared_cluster.inventory


def leaders(host_sh, hosts):
    """The hosts whose own member says it is the leader."""
    found = []
    for host in hosts:
        status = json.loads(host_sh(host, f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]
        if status["leader"] == status["header"]["member_id"]:
            found.append(host)
    return found


def test_bad_setting_is_refused_before_anything(cluster, ansible_playbook):
    hosts, inv = cluster
    run = ansible_playbook(inv, "-e", "etcd_maintenance_defrag_min_free_percent=150", playbook="playbooks/maintenance.yml")
    assert run.rc != 0
    assert "etcd_maintenance_defrag_min_free_percent=\"150\"" in run.output or "=150" in run.output, run
    assert all(r["changed"] == 0 for r in run.recap.values()), run


def test_nospace_cluster_is_brought_back_to_accepting_writes(cluster, ansible_playbook, host_sh):
    hosts, inv = cluster
    filled = host_sh(hosts[0], FILL)
    assert "database space exceeded" in filled.stdout, filled.stdout + filled.stderr
    puts = int(re.search(r"puts=(\d+)", filled.stdout).group(1))
    assert 10 <= puts < 200, filled.stdout
    alarms = host_sh(hosts[1], f"{ETCDCTL} alarm list").stdout
    assert "NOSPACE" in alarms, alarms
    refused = host_sh(hosts[2], f"{ETCDCTL} put /before-maintenance x")
    assert refused.returncode != 0 and "database space exceeded" in refused.stderr, refused

    # The deploy playbook's gate refuses to touch a cluster with an alarm ...
    site = ansible_playbook(inv)
    assert site.rc != 0 and "alarm NOSPACE" in site.output, site

    run = ansible_playbook(inv, playbook="playbooks/maintenance.yml")
    assert run.rc == 0, run
    assert sum(r["changed"] for r in run.recap.values()) > 0, run
    report = re.search(r"Alarms before: (.*?)\.\s+Compaction: (.*?)\.\s+Defragmented: (.*?)\.\s+Disarmed: (.*?)\.",
                       re.sub(r"\s+", " ", run.output))
    assert report, run
    raised = report.group(1).split(", ")  # "NOSPACE on shr-2, ..."
    assert raised and all(re.fullmatch(r"NOSPACE on (\S+)", a) and a.split()[-1] in hosts for a in raised), report.groups()
    assert "(done)" in report.group(2) and report.group(4) == "NOSPACE", report.groups()
    defragged = [part.split()[0] for part in report.group(3).split(", ")]
    assert sorted(defragged) == sorted(hosts), report.group(3)  # every member, forced by NOSPACE
    # Run again before any new write: nothing left to compact, defragment or disarm.
    again = ansible_playbook(inv, playbook="playbooks/maintenance.yml")
    assert again.rc == 0, again
    assert all(r["changed"] == 0 for r in again.recap.values()), again

    # Writes go through again on every member, and the data survived.
    for i, host in enumerate(hosts):
        assert host_sh(host, f"{ETCDCTL} put /after-maintenance/{i} ok").returncode == 0, host
    for host in hosts:
        listed = host_sh(host, f"{ETCDCTL} get --prefix /after-maintenance --keys-only").stdout.split()
        assert len(listed) == 3, (host, listed)
        assert host_sh(host, f"{ETCDCTL} get /fill --print-value-only | wc -c").stdout.strip() == str(4 * 393216 // 3 + 1)
        assert host_sh(host, f"{ETCDCTL} alarm list").stdout.strip() == "", host
    sizes = host_sh(hosts[0], f"{ETCDCTL} endpoint status --cluster -w json").stdout
    for size in re.findall(r'"dbSize":(\d+)', sizes):
        assert int(size) < QUOTA / 4, sizes

    # ... and the deploy playbook is content again, changing nothing.
    site = ansible_playbook(inv)
    assert site.rc == 0 and all(r["changed"] == 0 for r in site.recap.values()), site


def test_defrag_order_puts_the_leader_last(cluster, ansible_playbook, host_sh):
    """With every member over the threshold (0 %), the report lists the
    leader last (SAFETY-12)."""
    hosts, inv = cluster
    leader = leaders(host_sh, hosts)
    assert len(leader) == 1, leader
    run = ansible_playbook(inv, "-e", "etcd_maintenance_defrag_min_free_percent=0", playbook="playbooks/maintenance.yml")
    assert run.rc == 0, run
    report = re.search(r"Defragmented: (.*?)\.\s+Disarmed", re.sub(r"\s+", " ", run.output))
    order = [part.split()[0] for part in report.group(1).split(", ")]
    assert len(order) == 3, order
    assert order[-1] == leader[0], (order, leader)
    assert leaders(host_sh, hosts) == leader  # a defragmentation does not move the leadership


def sizes(host_sh, host):
    """(database size, size in use) of the member's own store."""
    status = json.loads(host_sh(host, f"{ETCDCTL} endpoint status -w json").stdout)[0]["Status"]
    return status["dbSize"], status["dbSizeInUse"]


def fragment_the_first(host_sh, hosts):
    """Every member gets the same waste (one key rewritten many times, then
    compacted); all but the first are defragmented by hand. Returns each
    member's (size, size in use)."""
    churn = (f"head -c 131072 /dev/urandom | base64 -w0 > /tmp/churn && "
             f"for i in $(seq 1 24); do {ETCDCTL} put /churn < /tmp/churn >/dev/null || exit 1; done && "
             f"rev=$({ETCDCTL} endpoint status -w json | python3 -c 'import json,sys; "
             "print(json.load(sys.stdin)[0][\"Status\"][\"header\"][\"revision\"])') && "
             f"{ETCDCTL} compact $rev >/dev/null && {ETCDCTL} del /churn >/dev/null && "
             # bbolt counts the pages a compaction freed as free after later writes.
             f"for i in 1 2 3; do {ETCDCTL} put /churn-after $i >/dev/null; done")
    res = host_sh(hosts[0], churn)
    assert res.returncode == 0, res
    for host in hosts[1:]:
        assert host_sh(host, f"{ETCDCTL} defrag").returncode == 0, host
    before = {h: sizes(host_sh, h) for h in hosts}
    waste = {h: size - in_use for h, (size, in_use) in before.items()}
    assert waste[hosts[0]] >= 2 * MIB and all(waste[h] < MIB for h in hosts[1:]), before
    return before


def test_only_the_fragmented_member_is_defragmented(cluster, ansible_playbook, host_sh):
    """Issue 18, item 2: defragmentation by need. Every member gets the same
    waste (one key rewritten many times, then compacted); two are
    defragmented by hand; maintenance.yml with a share and an absolute
    threshold defragments the third alone and reports its sizes."""
    hosts, inv = cluster
    before = fragment_the_first(host_sh, hosts)

    run = ansible_playbook(inv, "-e", "etcd_maintenance_defrag_min_free_mb=1", "-e", "etcd_maintenance_compact=false",
                           playbook="playbooks/maintenance.yml")
    assert run.rc == 0, run
    report = re.search(r"Defragmented: (.*?)\.\s+Disarmed", re.sub(r"\s+", " ", run.output))
    assert report and report.group(1).split()[0] == hosts[0] and ", " not in report.group(1), run.output[-2000:]
    after = {h: sizes(host_sh, h) for h in hosts}
    assert after[hosts[0]][0] <= before[hosts[0]][0] - 2 * MIB, (before, after)
    assert all(after[h][0] == before[h][0] for h in hosts[1:]), (before, after)  # left alone


UNIT = "etcd-maintenance"
STATE = f"/var/lib/quorum-etcd/{UNIT}.json"


def trigger(host_sh, host):
    """Start the timer's service now, as the timer would (a oneshot: returns when the run ended)."""
    return host_sh(host, f"systemctl start {UNIT}.service")


def test_the_timer_defragments_the_fragmented_member_alone_and_fails_visibly(cluster, ansible_playbook, host_sh):
    """Issue 18, item 2, the optional timer: site.yml installs it on every
    member; a run started on every member defragments the fragmented member
    alone (one member acts for the cluster), reports its sizes; a run while
    a member is down changes nothing and leaves the unit failed with the
    reason in the state file; an empty schedule removes the timer."""
    hosts, inv = cluster
    run = ansible_playbook(inv, "-e", "etcd_maintenance_schedule=weekly", "-e", "etcd_maintenance_defrag_min_free_mb=1")
    assert run.rc == 0, run
    stopped = None
    try:
        for host in hosts:
            assert host_sh(host, f"systemctl is-active {UNIT}.timer").stdout.strip() == "active", host
        before = fragment_the_first(host_sh, hosts)
        for host in reversed(hosts):
            res = trigger(host_sh, host)
            assert res.returncode == 0, (host, res.stderr, host_sh(host, f"journalctl -u {UNIT} -n 20 --no-pager").stdout)
        after = {h: sizes(host_sh, h) for h in hosts}
        assert after[hosts[0]][0] <= before[hosts[0]][0] - 2 * MIB, (before, after)
        assert all(after[h][0] == before[h][0] for h in hosts[1:]), (before, after)  # left alone
        states = {h: json.loads(host_sh(h, f"cat {STATE}").stdout) for h in hosts}
        acted = [h for h, st in states.items() if st["acted"]]
        assert len(acted) == 1 and all(st["ok"] and st["by"] == acted[0] for st in states.values()), states
        done = states[acted[0]]["defragmented"]
        assert [d["member"] for d in done] == [hosts[0]] and done[0]["size_after"] == after[hosts[0]][0], states
        journal = host_sh(acted[0], f"journalctl -u {UNIT} --no-pager -o cat").stdout
        assert f"defragmented member {hosts[0]}" in journal and f"{before[hosts[0]][0]} -> " in journal, journal

        # A member down: nothing is done, the unit is failed, the state says why.
        stopped = hosts[2]
        assert host_sh(stopped, "systemctl stop etcd").returncode == 0
        res = trigger(host_sh, hosts[0])
        assert res.returncode != 0
        assert host_sh(hosts[0], f"systemctl is-failed {UNIT}.service").stdout.strip() == "failed"
        state = json.loads(host_sh(hosts[0], f"cat {STATE}").stdout)
        assert state["ok"] is False and f"voters {stopped} did not answer" in state["error"], state
    finally:
        if stopped:
            host_sh(stopped, "systemctl start etcd")
        # Hands the shared cluster back as deployed: the gate of site.yml
        # waits for the restarted member; the empty schedule removes the timer.
        back = ansible_playbook(inv)
        assert back.rc == 0, back
    for host in hosts:
        assert host_sh(host, f"test -e /etc/systemd/system/{UNIT}.timer").returncode != 0, host
        assert host_sh(host, f"systemctl is-failed {UNIT}.service").stdout.strip() != "failed", host
