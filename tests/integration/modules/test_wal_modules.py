# -*- coding: utf-8 -*-
"""etcd_node_info's WAL reading and etcd_raft_snapshot on a real cluster
that walks 3.5 -> 3.6 -> 3.7 (issue 14, SAFETY-14).

Three members are born on 3.5, which writes requests for its v2 store into
the WAL; after the move to 3.6 they are still replayed at each start, and
etcd 3.7 cannot decode them. The test proves that etcd_node_info finds them
on every member, that etcd_raft_snapshot makes every member snapshot past
them, and that 3.7 then starts on the same data with every key readable.
Then etcd_downgrade takes the cluster back to 3.6 by etcd's downgrade
procedure: the cluster version and every member's storage schema drop to
3.6, the members restart on 3.6.16, and etcd ends the downgrade by itself.

It needs the lab's 3.5, 3.6 and 3.7 builds, so it runs in the modules@3.7
stage only (the other stages test their own line)."""

from __future__ import annotations

import os
import time

import pytest

import etcd_lab

WALK = [etcd_lab.base.LINES[line] for line in ("3.5", "3.6", "3.7")]
SNAPSHOT_COUNT = 200  # etcd's default is 10000; small keeps the test short

pytestmark = pytest.mark.skipif(
    not os.environ.get("ETCD_VERSION", "").startswith("3.7."),
    reason="runs in the modules@3.7 stage, with the lab's 3.5, 3.6 and 3.7 builds")


def binary(version):
    path = os.path.join(etcd_lab.mirror.GO_CACHE, version, "etcd")
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
    monkeypatch_module.setitem(etcd_lab.MODULES, "etcd_downgrade", "plugins/modules/etcd_downgrade.py")
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


def wait_for(what, predicate, timeout=60):
    """Bounded poll; the failure says what was awaited and what was last seen."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        ok, seen = predicate()
        if ok:
            return seen
        time.sleep(0.5)
    raise AssertionError("%s: not reached within %d s; last seen %r" % (what, timeout, seen))


def statuses(lab):
    return [lab.client([m.client_url]).status() for m in lab.members]


def cluster_version_is(client, want):
    seen = client.cluster_version()
    return seen == want, seen


def storage_is(lab, want):
    seen = statuses(lab)
    return all(st["storage_version"] == want for st in seen), seen


def downgrade_ended(lab):
    seen = statuses(lab)
    return not any(st["downgrade"]["enabled"] for st in seen), seen


def test_3_7_goes_back_to_3_6_by_etcds_downgrade_procedure(walk_lab):
    """Runs after the walk above: every member on 3.7.3."""
    lab = walk_lab
    client = lab.client()
    # The leader raises the cluster version on its next version check.
    wait_for("cluster version 3.7", lambda: cluster_version_is(client, "3.7.0"))
    down = dict(lab.conn_args(), version="3.6")

    res = lab.run_module("etcd_downgrade", dict(down, version="3.5"))
    assert res["_rc"] != 0 and "invalid downgrade target version" in res["msg"], res  # etcd's own check

    res = lab.run_module("etcd_downgrade", down, check=True)
    assert res["_rc"] == 0 and res["changed"] and not res["downgrade"]["enabled"], res
    assert client.cluster_version() == "3.7.0", "check mode started the downgrade"

    res = lab.run_module("etcd_downgrade", down)
    assert res["_rc"] == 0 and res["changed"], res
    again = lab.run_module("etcd_downgrade", down)
    assert again["_rc"] == 0 and not again["changed"] and again["downgrade"]["enabled"], again
    assert again["downgrade"]["target_version"] == "3.6.0", again

    # The leader lowers the cluster version, then each member its schema.
    wait_for("every member's storage schema on 3.6", lambda: storage_is(lab, "3.6.0"))
    assert client.cluster_version() == "3.6.0"

    move_to(lab, WALK[1])
    # etcd ends the downgrade by itself once every member runs 3.6.
    wait_for("the downgrade ended", lambda: downgrade_ended(lab))
    for member in lab.members:
        status = lab.client([member.client_url]).status()
        assert status["version"] == WALK[1] and status["storage_version"] == "3.6.0", status
        assert lab.client([member.client_url]).get("/canary") == "born-on-3.5", member.name
    done = lab.run_module("etcd_downgrade", down)
    assert done["_rc"] == 0 and not done["changed"] and done["cluster_version"] == "3.6.0", done
