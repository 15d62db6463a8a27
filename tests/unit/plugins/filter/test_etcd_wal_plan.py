# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_wal_plan import etcd_wal_plan

CLEAN = {"exists": True, "snapshot_index": 30001, "entries": 12, "v2_entries": 0, "v2_first_index": 0,
         "v2_last_index": 0}
DIRTY = {"exists": True, "snapshot_index": 0, "entries": 3610, "v2_entries": 4, "v2_first_index": 3,
         "v2_last_index": 1207}


def test_clean_members_may_start_3_7():
    plan = etcd_wal_plan({"etcd1": CLEAN, "etcd2": CLEAN, "etcd3": {"exists": False}}, "3.7.3")
    assert plan == {"hosts": [], "entries": 10001, "refusal": ""}


def test_members_that_replay_3_5_requests_are_named_with_the_entries_and_the_remedy():
    plan = etcd_wal_plan({"etcd1": CLEAN, "etcd3": DIRTY, "etcd2": DIRTY}, "3.7.3")
    assert plan["hosts"] == ["etcd2", "etcd3"]
    msg = plan["refusal"]
    assert msg.startswith('etcd_install_version="3.7.3" is refused (SAFETY-14): etcd2 (entries 3-1207, after its '
                          "raft snapshot at 0), etcd3 (entries 3-1207")
    assert "'unmarshal should never fail'" in msg and "playbooks/upgrade.yml" in msg
    assert "writes 10001 entries" in msg and msg.endswith("No host was changed.")


def test_nothing_is_refused_below_3_7_but_the_hosts_are_still_known():
    plan = etcd_wal_plan({"etcd1": DIRTY}, "3.6.16")
    assert plan["refusal"] == "" and plan["hosts"] == ["etcd1"]


def test_unreadable_wal_is_refused_with_its_reason():
    plan = etcd_wal_plan({"etcd1": {"exists": True, "error": "cannot read the WAL in /x: varint too long"}}, "3.7.3")
    assert "could not be read (etcd1: cannot read the WAL in /x: varint too long)" in plan["refusal"]


@pytest.mark.parametrize("configs, entries", [
    ({}, 10001),
    ({"etcd1": "name: etcd1\nsnapshot-count: 50000\n", "etcd2": "snapshot-count: 20000\n"}, 50001),
    ({"etcd1": "snapshot-count: 100\n"}, 10001),          # etcd2 counts with the default
    ({"etcd1": "{not yaml", "etcd2": ""}, 10001),
    ({"etcd1": "snapshot-count: -5\n"}, 10001),
])
def test_entries_are_one_more_than_the_largest_snapshot_count(configs, entries):
    assert etcd_wal_plan({"etcd1": DIRTY, "etcd2": DIRTY}, "3.7.3", configs)["entries"] == entries


def test_snapshot_count_default_is_a_parameter():
    assert etcd_wal_plan({"etcd1": DIRTY}, "3.7.3", {}, 500)["entries"] == 501


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="is not an X.Y.Z"):
        etcd_wal_plan({}, "3.7")
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        etcd_wal_plan([], "3.7.3")
