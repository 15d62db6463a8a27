# -*- coding: utf-8 -*-
"""etcd_node_info's WAL reading and etcd_raft_snapshot on a real cluster
that walks 3.5 -> 3.6 -> 3.7 (issue 14, SAFETY-14).

Three members are born on 3.5, which writes requests for its v2 store into
the WAL; after the move to 3.6 they are still replayed at each start, and
etcd 3.7 cannot decode them. The test proves that etcd_node_info finds them
on every member, that etcd_raft_snapshot makes every member snapshot past
them, and that 3.7 then starts on the same data with every key readable.

It needs the lab's 3.5, 3.6 and 3.7 builds, so it runs in the modules@3.7
stage only (the other stages test their own line)."""

from __future__ import annotations

import os
import time

import pytest

import etcd_lab

WALK = [etcd_lab.lab_tools.LINES[line] for line in ("3.5", "3.6", "3.7")]
SNAPSHOT_COUNT = 200  # etcd's default is 10000; small keeps the test short

pytestmark = pytest.mark.skipif(
    not os.environ.get("ETCD_VERSION", "").startswith("3.7."),
    reason="runs in the modules@3.7 stage, with the lab's 3.5, 3.6 and 3.7 builds")


def binary(version):
    path = os.path.join(etcd_lab.lab_tools.GO_CACHE, version, "etcd")
    assert os.access(path, os.X_OK), "no etcd %s build at %s (tools/lab.py setup makes it)" % (version, path)
    return path


def move_to(lab, version):
    """Restart the members one at a time on ``version``, each back healthy
    before the next."""
    for member in lab.members:
        member.stop()
        member.args[0] = binary(version)
        member.resume()
        lab.wait_healthy(lab.members, timeout=60)


def wal(lab, member):
    res = lab.run_module("etcd_node_info", {"wal": str(member.data_dir / "member" / "wal")})
    assert res["_rc"] == 0 and "error" not in res["wal"], res
    return res["wal"]


@pytest.fixture(scope="module")
def walk_lab(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setattr(etcd_lab, "ETCD", binary(WALK[0]))
    monkeypatch_module.setitem(etcd_lab.MODULES, "etcd_node_info", "plugins/modules/etcd_node_info.py")
    monkeypatch_module.setitem(etcd_lab.MODULES, "etcd_raft_snapshot", "plugins/modules/etcd_raft_snapshot.py")
    cluster = etcd_lab.Lab(tmp_path_factory.mktemp("walk"), extra_args=("--snapshot-count", str(SNAPSHOT_COUNT)))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_3_5_entries_are_found_snapshotted_away_and_3_7_starts(walk_lab):
    lab = walk_lab
    client = lab.client()
    client.put("/canary", "born-on-3.5")
    move_to(lab, WALK[1])

    before = {m.name: wal(lab, m) for m in lab.members}
    for name, info in before.items():
        # 3.5 published each member's attributes (and the cluster version)
        # as v2 requests; 3.6 replays them from the last snapshot (none yet).
        assert info["v2_entries"] > 0 and info["v2_first_index"] > info["snapshot_index"], (name, info)

    res = lab.run_module("etcd_raft_snapshot", dict(lab.conn_args(), entries=SNAPSHOT_COUNT + 1), check=True)
    assert res["_rc"] == 0 and res["changed"] and res["entries"] == SNAPSHOT_COUNT + 1, res
    assert all(wal(lab, m)["v2_entries"] > 0 for m in lab.members), "check mode wrote entries"

    res = lab.run_module("etcd_raft_snapshot", dict(lab.conn_args(), entries=SNAPSHOT_COUNT + 1))
    assert res["_rc"] == 0 and res["changed"] and res["entries"] == SNAPSHOT_COUNT + 1, res
    assert client.get("/quorum.etcd/raft-snapshot") is None, "the scratch key was left behind"

    # Each member saves its snapshot on its own, right after applying; bounded wait.
    deadline = time.monotonic() + 30
    after = {}
    while time.monotonic() < deadline:
        after = {m.name: wal(lab, m) for m in lab.members}
        if all(info["v2_entries"] == 0 for info in after.values()):
            break
        time.sleep(0.5)
    for name, info in after.items():
        assert info["v2_entries"] == 0 and info["snapshot_index"] > before[name]["v2_last_index"], (
            "%s still replays v2 entries 30 s after %d entries were written: %s" % (name, SNAPSHOT_COUNT + 1, info))

    move_to(lab, WALK[2])
    for member in lab.members:
        status = lab.client([member.client_url]).status()
        assert status["version"] == WALK[2], status
        assert lab.client([member.client_url]).get("/canary") == "born-on-3.5", member.name
