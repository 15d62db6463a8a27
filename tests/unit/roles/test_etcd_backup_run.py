# -*- coding: utf-8 -*-
"""The scheduled backup's program (roles/etcd_backup/files/etcd_backup_run.py)
with fake etcdctl and etcdutl executables: only the chosen member takes the
snapshot; it is verified, kept 0600, copied and checked, rotated in both
places and recorded; every failure ends with status 1, one line naming it,
no partial file and the last good state file as it was (SAFETY-13, SAFETY-25)."""
from __future__ import annotations

import datetime
import importlib.util
import json
import os
import stat
import sys
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parents[3] / "roles" / "etcd_backup" / "files"
MODULE_UTILS = Path(__file__).resolve().parents[3] / "plugins" / "module_utils"
NOW = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=datetime.timezone.utc)

FAKE_ETCDCTL = r'''#!%(python)s
import json, os, sys
args = sys.argv[1:]
if "member" in args:
    print(os.environ["FAKE_MEMBERS"])
elif "endpoint" in args:
    print(os.environ["FAKE_STATUS"])
    sys.exit(int(os.environ.get("FAKE_STATUS_RC", "0")))
elif "save" in args:
    with open(args[args.index("save") + 1], "wb") as fh:
        fh.write(b"snapshot-bytes" * 100)
'''
FAKE_ETCDUTL = r'''#!%(python)s
import json, os, sys
args = sys.argv[1:]
if "status" in args:
    print(json.dumps({"hash": 1234, "revision": 77, "totalKey": 5, "totalSize": 1400}))
elif "restore" in args:
    if os.environ.get("FAKE_RESTORE_FAILS"):
        sys.stderr.write("snapshot file integrity check failed\n")
        sys.exit(1)
    os.makedirs(args[args.index("--data-dir") + 1])
'''


@pytest.fixture(name="run")
def run_fixture(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(MODULE_UTILS))  # as next to it on the member
    spec = importlib.util.spec_from_file_location("etcd_backup_run", FILES / "etcd_backup_run.py")
    prog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prog)
    bins = {}
    for name, text in (("etcdctl", FAKE_ETCDCTL), ("etcdutl", FAKE_ETCDUTL)):
        path = tmp_path / name
        path.write_text(text % {"python": sys.executable})
        path.chmod(0o755)
        bins[name] = str(path)
    (tmp_path / "snaps").mkdir(mode=0o700)
    (tmp_path / "dest").mkdir()
    cfg = {"cluster": "etcd", "etcdctl": bins["etcdctl"], "etcdutl": bins["etcdutl"], "cacert": "ca", "cert": "c",
           "key": "k", "endpoint": "https://127.0.0.1:2379", "dir": str(tmp_path / "snaps"),
           "dest": str(tmp_path / "dest"), "keep": 2, "max_age_days": 14, "min_free_mb": 0}
    members = {"header": {"member_id": 20}, "members": [
        {"ID": 10, "name": "m10", "clientURLs": ["https://m10:2379"]},
        {"ID": 20, "name": "m20", "clientURLs": ["https://m20:2379"]},
        {"ID": 30, "name": "m30", "clientURLs": ["https://m30:2379"]}]}
    statuses = [{"Endpoint": "https://m%d:2379" % i,
                 "Status": {"header": {"member_id": i}, "leader": 10, "dbSize": 4096}} for i in (10, 20, 30)]
    monkeypatch.setenv("FAKE_MEMBERS", json.dumps(members))
    monkeypatch.setenv("FAKE_STATUS", json.dumps(statuses))

    class Run:
        def __init__(self):
            self.cfg, self.prog, self.tmp, self.members = cfg, prog, tmp_path, members

        def take(self):
            return prog.take(self.cfg, now=NOW)

        def main(self, capsys):
            path = tmp_path / "cfg.json"
            path.write_text(json.dumps(self.cfg))
            rc = prog.main(["etcd_backup_run.py", str(path)])
            return rc, capsys.readouterr()

    return Run()


def listing(path):
    return sorted(os.listdir(path))


def test_the_chosen_member_keeps_verifies_copies_rotates_and_records(run):
    snaps, dest = run.tmp / "snaps", run.tmp / "dest"
    for place in (snaps, dest):
        for name in ("etcd-20261206T120000Z.db", "etcd-20261205T120000Z.db", "etcd-20261101T000000Z.db",
                     "etcd-events-20261101T000000Z.db"):
            (place / name).write_bytes(b"old")
    lines = run.take()
    assert lines[0].startswith("snapshot %s/etcd-20261207T120000Z.db from member m20: revision 77, 5 keys" % snaps)
    for place in (snaps, dest):
        # keep 2: the new one and the newest older one; another cluster's file stays.
        assert listing(place) == ["etcd-20261206T120000Z.db", "etcd-20261207T120000Z.db",
                                  "etcd-events-20261101T000000Z.db", "etcd-last-good.json"], place
        new = place / "etcd-20261207T120000Z.db"
        assert stat.S_IMODE(new.stat().st_mode) == 0o600
        assert new.read_bytes() == b"snapshot-bytes" * 100
        state = json.loads((place / "etcd-last-good.json").read_text())
        assert stat.S_IMODE((place / "etcd-last-good.json").stat().st_mode) == 0o600
        assert state["file"] == new.name and state["revision"] == 77 and state["hash"] == 1234
        assert state["total_keys"] == 5 and state["member"] == "m20" and state["time"] == "2026-12-07T12:00:00Z"
        assert state["copied_to"] == str(dest)


def test_a_member_not_chosen_writes_nothing(run, monkeypatch):
    run.members["header"]["member_id"] = 30
    monkeypatch.setenv("FAKE_MEMBERS", json.dumps(run.members))
    assert run.take() == ["member m20 takes this run's snapshot (the follower with the lowest member ID); "
                          "nothing to do here"]
    assert listing(run.tmp / "snaps") == [] and listing(run.tmp / "dest") == []


def test_a_snapshot_that_fails_its_trial_restore_fails_the_run(run, capsys, monkeypatch):
    (run.tmp / "snaps" / "etcd-last-good.json").write_text("{}")
    monkeypatch.setenv("FAKE_RESTORE_FAILS", "1")
    rc, out = run.main(capsys)
    assert rc == 1
    assert out.err.strip().startswith("scheduled snapshot of cluster etcd FAILED: the snapshot failed its trial restore")
    assert "integrity check failed" in out.err
    assert listing(run.tmp / "snaps") == ["etcd-last-good.json"]  # no partial file, no work dir
    assert (run.tmp / "snaps" / "etcd-last-good.json").read_text() == "{}"


def test_the_free_space_floor_refuses_before_any_snapshot(run, capsys):
    run.cfg["min_free_mb"] = 2 ** 40
    rc, out = run.main(capsys)
    assert rc == 1 and "no snapshot taken: %s has" % (run.tmp / "snaps") in out.err
    assert listing(run.tmp / "snaps") == []


def test_a_missing_destination_fails_the_run_and_keeps_the_state(run, capsys):
    run.cfg["dest"] = str(run.tmp / "not-mounted")
    (run.tmp / "snaps" / "etcd-last-good.json").write_text("{}")
    rc, out = run.main(capsys)
    assert rc == 1 and "is not a directory (is its file system mounted?)" in out.err
    assert (run.tmp / "snaps" / "etcd-last-good.json").read_text() == "{}"


def test_no_leader_no_snapshot(run, capsys, monkeypatch):
    statuses = [{"Endpoint": "https://m20:2379", "Status": {"header": {"member_id": 20}, "leader": 0}}]
    monkeypatch.setenv("FAKE_STATUS", json.dumps(statuses))
    monkeypatch.setenv("FAKE_STATUS_RC", "1")
    rc, out = run.main(capsys)
    assert rc == 1 and "no voting member answered with a leader (1 of 3 voters answered)" in out.err
