# -*- coding: utf-8 -*-
"""The plan of a scheduled defragmentation by need (issue 18, item 2;
SAFETY-11, SAFETY-12), from what etcdctl prints with -w json."""
from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_defrag_plan import scheduled_plan, wants_defrag

MIB = 1024 * 1024


def members(*ids, learners=()):
    return {"header": {"member_id": ids[0]},
            "members": [{"ID": i, "name": "m%d" % i, "clientURLs": ["https://m%d:2379" % i]} for i in ids]
            + [{"ID": i, "name": "m%d" % i, "isLearner": True} for i in learners]}


def status(member_id, leader, size, in_use):
    return {"Endpoint": "https://m%d:2379" % member_id,
            "Status": {"header": {"member_id": member_id}, "leader": leader, "dbSize": size, "dbSizeInUse": in_use}}


def alarms(*kinds):
    return {"alarms": [{"memberID": 1, "alarm": k} for k in kinds]} if kinds else {"header": {}}


def test_followers_first_the_leader_last_only_those_over_both_thresholds():
    statuses = [status(3, 2, 10 * MIB, 1 * MIB), status(2, 2, 10 * MIB, 2 * MIB), status(1, 2, 10 * MIB, 9.5 * MIB),
                status(4, 2, 10 * MIB, 1 * MIB)]
    plan = scheduled_plan(members(3, 1, 2, 4), statuses, alarms(), 10, 1)
    assert plan["problem"] == "" and plan["coordinator"] == 1 and plan["leader"] == 2
    assert [(e["name"], e["free_percent"]) for e in plan["order"]] == [("m3", 90.0), ("m4", 90.0), ("m2", 80.0)]
    # m1: 5 % free is under the share; with 10 MiB of waste needed nobody qualifies.
    assert scheduled_plan(members(3, 1, 2, 4), statuses, alarms(), 10, 10)["order"] == []


def test_nospace_defragments_every_voter_and_learners_are_not_asked():
    statuses = [status(1, 1, 8 * MIB, 8 * MIB), status(2, 1, 8 * MIB, 8 * MIB), status(3, 1, 8 * MIB, 8 * MIB)]
    plan = scheduled_plan(members(1, 2, 3, learners=(9,)), statuses, alarms("NOSPACE"), 10, 1)
    assert plan["nospace"] and [e["name"] for e in plan["order"]] == ["m2", "m3", "m1"]


def test_nothing_is_done_without_every_voter_one_leader_and_no_corrupt_alarm():
    healthy = [status(1, 1, MIB, 0), status(2, 1, MIB, 0), status(3, 1, MIB, 0)]
    missing = scheduled_plan(members(1, 2, 3), healthy[:2], alarms(), 10, 0)
    assert missing["problem"] == "voters m3 did not answer with a leader" and missing["coordinator"] is None
    split = scheduled_plan(members(1, 2, 3), healthy[:2] + [status(3, 3, MIB, 0)], alarms(), 10, 0)
    assert split["problem"].startswith("the voters name different leaders") and split["order"] == []
    corrupt = scheduled_plan(members(1, 2, 3), healthy, alarms("CORRUPT"), 10, 0)
    assert "CORRUPT" in corrupt["problem"]
    no_leader = scheduled_plan(members(1, 2, 3), [status(1, 0, MIB, 0)] + healthy[1:], alarms(), 10, 0)
    assert no_leader["problem"] == "voters m1 did not answer with a leader"


def test_etcd_without_size_in_use_is_never_defragmented_unless_forced():
    assert not wants_defrag(None, 0, False)
    assert wants_defrag(None, 0, True)
    assert scheduled_plan(members(1), [status(1, 1, 10 * MIB, None)], alarms(), 0, 0)["order"] == []
