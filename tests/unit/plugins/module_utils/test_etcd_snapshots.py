# -*- coding: utf-8 -*-
"""The scheduled backup's shared decisions (plugins/module_utils/etcd_snapshots.py):
retention by count and age (SAFETY-13, SAFETY-25), the one member that takes a
run's snapshot, and the free-space floor."""
from __future__ import annotations

import datetime
import os

import pytest
from ansible_collections.quorum.etcd.plugins.module_utils import etcd_snapshots as snaps

NOW = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=datetime.timezone.utc)


def names(*days_ago):
    return ["/d/" + snaps.snapshot_name("etcd", NOW - datetime.timedelta(days=d)) for d in days_ago]


def test_the_name_is_the_cluster_and_the_utc_time():
    assert snaps.snapshot_name("etcd", NOW) == "etcd-20261207T120000Z.db"
    assert snaps.snapshot_time("etcd", "/x/etcd-20261207T120000Z.db") == NOW
    assert snaps.snapshot_time("etcd", "etcd-events-20261207T120000Z.db") is None
    assert snaps.snapshot_time("etcd", "etcd-20261399T120000Z.db") is None  # the shape, no date


def test_count_then_age_and_never_the_current_one():
    found = names(0, 1, 2, 20, 30)
    current = os.path.basename(found[0])
    # keep 7 by count; 14 days by age: the 20- and 30-day-old ones go, oldest first.
    assert snaps.prune(found, "etcd", 7, current, max_age_days=14, now=NOW) == [found[4], found[3]]
    # keep 2 by count, no age limit.
    assert snaps.prune(found, "etcd", 2, current, max_age_days=0, now=NOW) == [found[4], found[3], found[2]]
    # The current one stays even when its name says it is old (a clock set back).
    old = names(40)
    assert snaps.prune(old, "etcd", 1, os.path.basename(old[0]), max_age_days=14, now=NOW) == []


def test_other_clusters_and_other_files_are_never_returned():
    found = names(0, 30) + ["/d/etcd-events-20261101T000000Z.db", "/d/etcd-last-good.json", "/d/notes.db"]
    assert snaps.prune(found, "etcd", 1, os.path.basename(found[0]), max_age_days=1, now=NOW) == [found[1]]
    with pytest.raises(ValueError, match="not a snapshot name of cluster 'etcd'"):
        snaps.prune(found, "etcd", 1, "etcd-events-20261101T000000Z.db")


def members(*ids, learner=None):
    return {"members": [dict({"ID": i, "name": "m%d" % i}, **({"isLearner": True} if i == learner else {}))
                        for i in ids]}


def status(member_id, leader):
    return {"Endpoint": "https://m%d:2379" % member_id,
            "Status": {"header": {"member_id": member_id}, "leader": leader, "dbSize": 4096}}


def test_every_member_names_the_same_follower_the_lowest_id():
    statuses = [status(30, 10), status(10, 10), status(20, 10)]
    assert snaps.choose_member(members(10, 20, 30), statuses) == (20, "the follower with the lowest member ID")
    assert snaps.choose_member(members(10, 20, 30), list(reversed(statuses)))[0] == 20


def test_the_leader_only_when_no_follower_answers_and_never_a_learner():
    assert snaps.choose_member(members(10, 20), [status(10, 10)]) == (10, "the only voter that answered")
    # 5 is a learner: never chosen, even with the lowest ID.
    assert snaps.choose_member(members(5, 10, 20, learner=5), [status(5, 10), status(10, 10), status(20, 10)])[0] == 20


def test_no_member_without_a_leader():
    chosen, why = snaps.choose_member(members(10, 20), [status(10, 0), status(20, 0)])
    assert chosen is None and "no voting member answered with a leader" in why


class FakeStat:
    f_bavail, f_frsize = 100, 2 ** 20  # 100 MiB free


def test_free_space_floor():
    assert snaps.free_space_problem("/d", 10 * 2 ** 20, 50 * 2 ** 20, statvfs=lambda p: FakeStat) == ""
    problem = snaps.free_space_problem("/d", 60 * 2 ** 20, 50 * 2 ** 20, statvfs=lambda p: FakeStat)
    assert problem == "/d has 100 MiB free; the snapshot needs about 60 MiB and 50 MiB must stay free"
