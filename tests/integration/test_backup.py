# -*- coding: utf-8 -*-
"""playbooks/backup.yml on real lab containers (issue 5, backup part): a
snapshot from a healthy member, verified by a trial restore on the member,
stored on the controller 0600 in a 0700 directory with the newest N kept
(SAFETY-13); refused while a member is down (SAFETY-11) or with a bad
setting (SAFETY-20), with nothing new stored. The stored file is checked
here independently: etcd's SHA-256 trailer, and its revision and keys read
by etcdutl inside a container."""
from __future__ import annotations

import hashlib
import json
import re
import stat
import time

import pytest

pytestmark = pytest.mark.lab

PKI = "/etc/etcd/pki"
ETCDCTL = (f"ETCDCTL_API=3 etcdctl --cacert {PKI}/ca.crt --cert {PKI}/admin.crt --key {PKI}/admin.key "
           "--endpoints https://127.0.0.1:2379")
# The report line, which the YAML result format may fold at spaces.
REPORT = re.compile(r"Snapshot\s+(\S+)\s+from\s+(\S+):\s+revision\s+(\d+),\s+(\d+)\s+keys")


@pytest.fixture(scope="module")
def cluster(shared_cluster):
    """The session's shared cluster (conftest): these tests only read it,
    and the one that stops a member starts it again."""
    return shared_cluster.hosts, shared_cluster.inventory, shared_cluster.base / "etcd-backups" / shared_cluster.name


def put_keys(host_sh, host, prefix, count):
    for i in range(count):
        assert host_sh(host, f"{ETCDCTL} put /{prefix}/{i} v{i}").returncode == 0


def snapshot_ok(path):
    """etcd appends the SHA-256 of the database to a snapshot from the API."""
    data = path.read_bytes()
    return len(data) > 32 and hashlib.sha256(data[:-32]).digest() == data[-32:]


def own_snapshots(store):
    """This cluster's snapshots: exactly <name>-<UTC time>.db."""
    own = re.compile(re.escape(store.name) + r"-\d{8}T\d{6}Z\.db")
    return sorted(f for f in store.iterdir() if own.fullmatch(f.name)) if store.is_dir() else []


def test_backups_are_verified_stored_0600_and_rotated(cluster, ansible_playbook, host_sh, docker_cp, capsys):
    """SAFETY-13, SAFETY-25: the same directory also holds the snapshots of
    a cluster whose name starts with this one's (issue 15, item 4: its
    names sort after this cluster's, and retention by the glob
    <name>-*.db deleted the new snapshot and kept them); they are never
    touched, and this cluster's newest 2 stay."""
    hosts, inv, store = cluster
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    decoys = {store / f"{store.name}-events-2026110{day}T000000Z.db": f"other cluster {day}".encode() for day in (1, 2)}
    for path, data in decoys.items():
        path.write_bytes(data)
    revisions = []
    for round_ in range(3):
        put_keys(host_sh, hosts[0], f"round{round_}", 10)
        started = time.monotonic()
        run = ansible_playbook(inv, "-e", "etcd_backup_keep=2", playbook="playbooks/backup.yml")
        elapsed = time.monotonic() - started
        assert run.rc == 0, run
        with capsys.disabled():
            print(f"\nbackup.yml, 3-member cluster, round {round_ + 1}: {elapsed:.1f} s")
        found = REPORT.search(run.output)
        assert found, run
        path, source, revision, keys = found.group(1), found.group(2), int(found.group(3)), int(found.group(4))
        assert source in hosts and keys >= 10 * (round_ + 1), run
        revisions.append(revision)
    assert revisions[0] < revisions[1] < revisions[2]  # each one newer, 10 puts apart at least
    assert revisions[2] - revisions[1] >= 10
    files = own_snapshots(store)
    assert len(files) == 2, files  # the newest 2 kept (SAFETY-13)
    assert {p: p.read_bytes() for p in decoys} == decoys  # another cluster's files untouched (SAFETY-25)
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        assert snapshot_ok(f), f
    assert str(files[-1]) == path
    # Read the newest back with etcd's own tool on a member: same revision.
    docker_cp(str(files[-1]), f"{hosts[1]}:/root/check.db")
    status = json.loads(host_sh(hosts[1], "etcdutl snapshot status /root/check.db -w json").stdout)
    assert status["revision"] == revisions[2] and status["totalKey"] >= 30, status
    for host in hosts:  # nothing left behind on the members
        assert host_sh(host, "ls /var/backups/etcd | wc -l").stdout.strip() == "0", host


def test_no_backup_of_an_unhealthy_cluster(cluster, ansible_playbook, host_sh):
    hosts, inv, store = cluster
    before = own_snapshots(store)
    assert host_sh(hosts[2], "systemctl stop etcd").returncode == 0
    try:
        run = ansible_playbook(inv, "-e", "etcd_backup_keep=2", playbook="playbooks/backup.yml")
    finally:
        host_sh(hosts[2], "systemctl start etcd")
    assert run.rc != 0, run
    assert "not healthy" in " ".join(f.msg for f in run.failures), run  # SAFETY-11
    assert own_snapshots(store) == before


def test_bad_keep_is_refused(cluster, ansible_playbook):
    hosts, inv, store = cluster
    before = own_snapshots(store)
    run = ansible_playbook(inv, "-e", "etcd_backup_keep=0", playbook="playbooks/backup.yml")
    assert run.rc != 0, run
    # -e passes a string: the message names the value as given.
    assert re.search(r'etcd_backup_keep="?0"? \(at least 1\)', " ".join(f.msg for f in run.failures)), run  # SAFETY-20
    assert all(r["changed"] == 0 for r in run.recap.values()), run
    assert own_snapshots(store) == before


SCHEDULED = "/var/backups/etcd/scheduled"
DEST = "/mnt/etcd-dest"  # a tmpfs of its own on each member: "another mount"


def last_good(host_sh, host, place, cluster):
    res = host_sh(host, f"cat {place}/{cluster}-last-good.json")
    return json.loads(res.stdout) if res.returncode == 0 else None


def test_scheduled_backups_are_taken_by_one_member_verified_copied_rotated_and_fail_visibly(
        cluster, ansible_playbook, host_sh):
    """Issue 18, item 1: etcd_backup_schedule installs a timer on every
    member; its runs take one verified snapshot (one member only), keep it
    0600, copy it to the destination, rotate by count and age without
    touching another cluster's files, record the last good one; a run
    that would break the free-space floor fails the unit and leaves the
    state file alone; an empty schedule removes the timer (SAFETY-13,
    SAFETY-25)."""
    hosts, inv, store = cluster
    name = store.name
    old, other = f"{name}-20261101T000000Z.db", f"{name}-events-20261101T000000Z.db"
    for host in hosts:
        assert host_sh(host, f"mkdir -p {DEST} && mount -t tmpfs -o size=8m,mode=0700 tmpfs {DEST} "
                             f"&& echo old > {DEST}/{old} && echo other > {DEST}/{other}").returncode == 0
    settings = ["-e", "etcd_backup_schedule=*:*:0/10", "-e", f"etcd_backup_schedule_dest={DEST}",
                "-e", "etcd_backup_schedule_keep=2", "-e", "etcd_backup_schedule_min_free_mb=1"]
    try:
        put_keys(host_sh, hosts[0], "scheduled", 5)
        run = ansible_playbook(inv, *settings)
        assert run.rc == 0, run
        # The timer runs by itself, every 10 s: one member's state file appears.
        taker = None
        for _attempt in range(150):
            taker = next((h for h in hosts if last_good(host_sh, h, DEST, name)), None)
            if taker:
                break
            time.sleep(2)
        else:
            why = host_sh(hosts[0], "systemctl list-timers --all; systemctl status etcd-backup.service; "
                                    "journalctl -u etcd-backup.service -n 20 --no-pager")
            pytest.fail(f"no scheduled snapshot after 300 s:\n{why.stdout}{why.stderr}")
        for host in hosts:
            if host != taker:  # one member takes each run; the others only say who did
                assert host_sh(host, f"ls -A {SCHEDULED}").stdout.strip() == "", host
        # Two more runs on that member (the timer's own go on beside them).
        for _round in range(2):
            time.sleep(1.1)  # a name per second
            assert host_sh(taker, "systemctl start etcd-backup.service").returncode == 0
        state = last_good(host_sh, taker, DEST, name)
        assert state == last_good(host_sh, taker, SCHEDULED, name)
        for place in (SCHEDULED, DEST):
            files = host_sh(taker, f"ls -A {place}").stdout.split()
            own = sorted(f for f in files if re.fullmatch(re.escape(name) + r"-\d{8}T\d{6}Z\.db", f))
            assert len(own) == 2 and own[-1] == state["file"], files  # keep 2; the 30-day-old one gone
            assert old not in files and (place == SCHEDULED or other in files), files
            assert host_sh(taker, f"stat -c %a {place}/{state['file']}").stdout.strip() == "600"
            sha = host_sh(taker, f"sha256sum {place}/{state['file']}").stdout.split()[0]
            assert sha == state["sha256"], place
        # Verified: etcd's own tool reads the copy as the state file says.
        status = json.loads(host_sh(taker, f"etcdutl snapshot status {DEST}/{state['file']} -w json").stdout)
        assert (status["revision"], status["hash"], status["totalKey"]) == (
            state["revision"], state["hash"], state["total_keys"]), (status, state)
        assert state["total_keys"] >= 5 and state["member"] == taker
        assert host_sh(taker, f"cat {DEST}/{other}").stdout.strip() == "other"  # another cluster's: untouched

        again = ansible_playbook(inv, *settings)
        assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again

        # 64 MiB must stay free, the destination has 8: the copy is refused, the unit fails.
        floor = ansible_playbook(inv, *settings[:-2], "-e", "etcd_backup_schedule_min_free_mb=64")
        assert floor.rc == 0, floor
        # The timer fires every 10 s: stopped here, so that the unit's failed
        # state and the journal lines read below are this start's, not those
        # of a run the timer began right after it (seen: 'activating').
        assert host_sh(taker, "systemctl stop etcd-backup.timer").returncode == 0
        before = last_good(host_sh, taker, DEST, name)
        assert host_sh(taker, "systemctl start etcd-backup.service").returncode != 0
        assert host_sh(taker, "systemctl is-failed etcd-backup.service").stdout.strip() == "failed"
        journal = host_sh(taker, "journalctl -u etcd-backup.service -n 5 --no-pager -o cat").stdout
        assert f"FAILED: not copied: {DEST} has" in journal and "64 MiB must stay free" in journal, journal
        assert last_good(host_sh, taker, DEST, name) == before

        off = ansible_playbook(inv)
        assert off.rc == 0, off
        for host in hosts:
            assert host_sh(host, "systemctl cat etcd-backup.timer").returncode != 0, host
            assert host_sh(host, "test -e /etc/etcd/etcd-backup.json").returncode != 0, host
        # The snapshots stay (the timer ran on meanwhile: the newest state's file).
        assert last_good(host_sh, taker, DEST, name)["file"] in host_sh(taker, f"ls {DEST}").stdout
    finally:
        for host in hosts:
            host_sh(host, "systemctl disable --now etcd-backup.timer; systemctl reset-failed etcd-backup.service; "
                          "rm -f /etc/systemd/system/etcd-backup.* /etc/etcd/etcd-backup.json; "
                          f"systemctl daemon-reload; umount {DEST}; rm -rf {SCHEDULED}")
