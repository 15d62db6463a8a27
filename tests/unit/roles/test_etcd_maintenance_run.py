# -*- coding: utf-8 -*-
"""The scheduled maintenance's program (roles/etcd_maintenance/files/
etcd_maintenance_run.py) with a fake cluster: only the coordinator acts;
it defragments in the plan's order with a health gate after each member,
stops when the gate does not pass, disarms NOSPACE only below 90 % of the
quota; main() records the outcome and fails the unit on a refusal
(issue 18, item 2; SAFETY-11, SAFETY-12)."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))  # the program's copy of etcd_defrag_plan
SPEC = importlib.util.spec_from_file_location("etcd_maintenance_run",
                                              ROOT / "roles" / "etcd_maintenance" / "files" / "etcd_maintenance_run.py")
run_mod = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run_mod)
MIB = 1024 * 1024
CFG = {"cluster": "c", "etcdctl": "etcdctl", "cacert": "ca", "cert": "c", "key": "k", "endpoint": "https://127.0.0.1:2379",
       "min_free_percent": 10, "min_free_mb": 1, "timeout": 60, "quota_bytes": 16 * MIB, "gate_tries": 3,
       "gate_delay": 1}


class FakeCluster:
    def __init__(self, me, sizes, leader=2, nospace=False, health=()):
        self.me, self.sizes, self.leader, self.nospace = me, dict(sizes), leader, nospace
        self.health = list(health)  # answers of healthy(), '' when exhausted
        self.tls, self.urls, self.log = ["etcdctl"], [], []

    def read(self):
        ids = sorted(self.sizes)
        self.urls = ["https://m%d:2379" % i for i in ids]
        members = {"header": {"member_id": self.me},
                   "members": [{"ID": i, "name": "m%d" % i, "clientURLs": ["https://m%d:2379" % i]} for i in ids]}
        statuses = [{"Endpoint": "https://m%d:2379" % i,
                     "Status": {"header": {"member_id": i}, "leader": self.leader, "dbSize": s, "dbSizeInUse": u}}
                    for i, (s, u) in self.sizes.items()]
        return members, statuses, {"alarms": [{"memberID": 1, "alarm": "NOSPACE"}]} if self.nospace else {}

    def healthy(self):
        self.log.append("gate")
        return self.health.pop(0) if self.health else ""

    def status_of(self, endpoint):
        size, in_use = self.sizes[int(endpoint.split("//m")[1].split(":")[0])]
        return {"dbSize": size, "dbSizeInUse": in_use}

    def local(self, *args):
        return ["etcdctl", "--endpoints", "local"] + list(args)


@pytest.fixture
def commands(monkeypatch):
    """Every etcdctl defrag / alarm disarm the program runs; a defrag makes
    that member's file its size in use."""
    ran = []

    def fake_run(argv, cluster=None):
        ran.append(argv)
        return 0, "", ""

    monkeypatch.setattr(run_mod, "_run", fake_run)
    return ran


def defrag_targets(ran):
    return [argv[argv.index("--endpoints") + 1] for argv in ran if argv[-1] == "defrag"]


def test_only_the_lowest_member_id_acts(commands):
    cluster = FakeCluster(me=2, sizes={1: (10 * MIB, MIB), 2: (10 * MIB, MIB), 3: (10 * MIB, MIB)})
    lines, state = run_mod.maintain(CFG, cluster, sleep=lambda s: None)
    assert commands == [] and not state["acted"] and state["by"] == "m1"
    assert lines == ["member m1 does this run's maintenance for the cluster; nothing to do here"]


def test_followers_then_the_leader_each_gated_with_sizes_reported(commands):
    cluster = FakeCluster(me=1, sizes={1: (10 * MIB, MIB), 2: (10 * MIB, 2 * MIB), 3: (4 * MIB, 3.9 * MIB)})
    lines, state = run_mod.maintain(CFG, cluster, sleep=lambda s: None)
    assert defrag_targets(commands) == ["https://m1:2379", "https://m2:2379"]  # m3: 2.5 % free; m2 leads
    assert cluster.log == ["gate", "gate"]
    assert [d["member"] for d in state["defragmented"]] == ["m1", "m2"] and state["defragmented"][1]["leader"]
    assert lines[1].startswith("defragmented member m2 (the leader, last): 10485760 -> ")


def test_a_gate_that_does_not_pass_stops_before_the_next_member(commands):
    cluster = FakeCluster(me=1, sizes={1: (10 * MIB, MIB), 2: (10 * MIB, MIB), 3: (10 * MIB, MIB)},
                          health=["not healthy: https://m1:2379"] * 3)
    slept = []
    with pytest.raises(run_mod.Refused, match=r"not healthy: https://m1:2379 after 3 checks 1 s apart"):
        run_mod.maintain(CFG, cluster, sleep=slept.append)
    assert defrag_targets(commands) == ["https://m1:2379"] and slept == [1, 1]


def test_nospace_is_disarmed_only_when_the_space_is_back(commands):
    full = FakeCluster(me=1, nospace=True, sizes={1: (16 * MIB, 15 * MIB), 2: (16 * MIB, MIB), 3: (16 * MIB, MIB)})
    with pytest.raises(run_mod.Refused, match=r"the NOSPACE alarm stays: https://m1:2379 \(16777216 bytes\)"):
        run_mod.maintain(CFG, full, sleep=lambda s: None)
    assert not any("disarm" in argv for argv in commands)
    back = FakeCluster(me=1, nospace=True, sizes={1: (8 * MIB, MIB), 2: (8 * MIB, MIB), 3: (8 * MIB, MIB)})
    lines, state = run_mod.maintain(CFG, back, sleep=lambda s: None)
    assert state["disarmed"] == ["NOSPACE"] and ["etcdctl", "--endpoints", "local", "alarm", "disarm"] in commands
    assert len(state["defragmented"]) == 3 and lines[-1].startswith("NOSPACE alarm disarmed")


def test_main_records_a_refusal_and_fails(tmp_path, monkeypatch, capsys):
    cfg = dict(CFG, state=str(tmp_path / "state.json"))
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))

    def refuse(_cfg):
        raise run_mod.Refused("nothing defragmented: voters m3 did not answer with a leader")

    monkeypatch.setattr(run_mod, "maintain", refuse)
    assert run_mod.main(["x", str(tmp_path / "cfg.json")]) == 1
    assert "FAILED: nothing defragmented: voters m3" in capsys.readouterr().err
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["ok"] is False and "m3" in state["error"]
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
