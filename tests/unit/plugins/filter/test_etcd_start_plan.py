# -*- coding: utf-8 -*-
"""plugins/filter/etcd_start_plan.py: a cluster is founded only from the whole
group, and --limit never hides a member with data (SAFETY-1, SAFETY-21)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_start_plan import start_plan

WAL = "/var/lib/etcd/member/wal"


def read(host, exists):
    return {"item": host, "changed": False, "paths": {WAL: {"exists": exists}}}


def unreachable(host):
    return {"item": host, "unreachable": True, "msg": "Failed to connect"}


def test_whole_group_without_data_bootstraps():
    plan = start_plan({"e1": False, "e2": False, "e3": False})
    assert plan == {"bootstrap": True, "seeded": [], "seeded_outside": [], "refusal": "", "forget": []}


def test_converged_members_under_limit_go_on():
    plan = start_plan({"e1": True}, [read("e2", True), read("e3", True)])
    assert plan["bootstrap"] is False and plan["refusal"] == ""
    assert plan["seeded"] == ["e1"] and plan["seeded_outside"] == ["e2", "e3"]


def test_new_host_alone_next_to_a_running_cluster_is_refused():
    """Issue 15, item 1: --limit newhost used to found a second cluster."""
    plan = start_plan({"e4": False}, [read("e1", True), read("e2", True), read("e3", True)], group="etcd")
    assert plan["bootstrap"] is False
    assert plan["refusal"].startswith("e4 has no data, and outside this run (--limit) e1, e2, e3 have data.")
    assert "Nothing was changed" in plan["refusal"] and "include e1, e2, e3" in plan["refusal"]


def test_partial_first_bootstrap_is_refused():
    plan = start_plan({"e1": False, "e2": False}, [read("e3", False)], group="db")
    assert plan["bootstrap"] is False
    assert "No member of group db has data" in plan["refusal"] and "e3 is outside the run" in plan["refusal"]


def test_unreadable_member_outside_blocks_a_bootstrap():
    plan = start_plan({"e1": False, "e2": False}, [unreachable("e3")])
    assert plan["bootstrap"] is False
    assert "e3 (Failed to connect) outside the run (--limit) could not be read" in plan["refusal"]


def test_failed_read_counts_as_unread():
    plan = start_plan({"e1": False}, [{"item": "e2", "failed": True, "msg": "boom"}, read("e3", False)])
    assert "e2 (boom)" in plan["refusal"] and plan["bootstrap"] is False


def test_join_next_to_an_unread_member_is_refused():
    plan = start_plan({"e1": True, "e4": False}, [unreachable("e2")])
    assert plan["refusal"].startswith("e4 has no data, and outside this run (--limit) e2 (Failed to connect) could not be read.")


def test_join_inside_the_play_with_blank_hosts_outside_goes_on():
    """Members with data are all in the play: the join is checked against the
    live list as before; a blank host outside is not a member."""
    plan = start_plan({"e1": True, "e2": True, "e3": True, "e4": False}, [read("e5", False)])
    assert plan["refusal"] == "" and plan["bootstrap"] is False and plan["seeded"] == ["e1", "e2", "e3"]


def test_unread_member_outside_does_not_stop_converging_members_with_data():
    plan = start_plan({"e1": True, "e2": True}, [unreachable("e3")])
    assert plan["refusal"] == "" and plan["seeded"] == ["e1", "e2"]


@pytest.mark.parametrize("play, outside", [({}, []), ("e1", []), ({"e1": True}, "x"), ({"e1": True}, [{"paths": {}}])])
def test_bad_input_is_named(play, outside):
    with pytest.raises(AnsibleFilterError, match="etcd_start_plan"):
        start_plan(play, outside)


RECORD = '{"cluster": "main", "cluster_id": "a1b2", "member_id": "c3d4", "name": "e1"}\n'
IDENTITY = "/etc/etcd/member-identity.json"


def test_every_data_dir_empty_on_members_that_served_is_lost_not_new():
    """Issue 15, item 3 (SAFETY-22): all data gone (an unmounted volume) used
    to found a new, empty cluster. The members' records say they served."""
    plan = start_plan({"e1": False, "e2": False, "e3": False}, records={"e1": RECORD, "e2": RECORD, "e3": ""},
                      cluster="main")
    assert plan["bootstrap"] is False and plan["forget"] == []
    assert plan["refusal"].startswith("No member of group etcd has data, but e1 (member c3d4 of cluster main, ID a1b2), "
                                      "e2 (member c3d4 of cluster main, ID a1b2) keep a record that they were members of an etcd cluster")
    assert "playbooks/restore.yml" in plan["refusal"] and "etcd_service_confirm_new_cluster=main" in plan["refusal"]


def test_a_record_outside_the_play_counts_too_and_an_unreadable_one_is_named():
    outside = {"item": "e3", "paths": {WAL: {"exists": False}, IDENTITY: {"exists": True, "content": "{oops"}}}
    plan = start_plan({"e1": False, "e2": False}, [outside], records={})
    # The partial bootstrap is refused first; with e3 in the play the record is.
    assert "outside the run" in plan["refusal"]
    plan = start_plan({"e1": False, "e2": False, "e3": False}, records={"e3": "{oops"})
    assert "e3 (a record that cannot be read) keeps a record that it was a member" in plan["refusal"]


def test_a_confirmed_new_cluster_forgets_the_old_records():
    plan = start_plan({"e1": False, "e2": False, "e3": False}, records={"e1": RECORD, "e2": "", "e3": RECORD},
                      confirm=True)
    assert plan["bootstrap"] is True and plan["refusal"] == "" and plan["forget"] == ["e1", "e3"]


def test_records_do_not_matter_while_members_have_data():
    plan = start_plan({"e1": True, "e2": False}, records={"e2": RECORD})
    assert plan["bootstrap"] is False and plan["refusal"] == "" and plan["forget"] == []


def test_outside_read_with_the_record_path_is_still_read():
    outside = {"item": "e2", "paths": {WAL: {"exists": True}, IDENTITY: {"exists": True, "content": RECORD}}}
    plan = start_plan({"e1": True}, [outside])
    assert plan["seeded_outside"] == ["e2"] and plan["refusal"] == ""
