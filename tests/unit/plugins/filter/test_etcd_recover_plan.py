# -*- coding: utf-8 -*-
"""SAFETY-28: the quorum-loss recovery plan. Refused while a leader answers,
without data, or without the confirmation (which then shows the plan); the
survivor is the member with the highest committed index."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_recover_plan import etcd_recover_plan

GROUP = ["m1", "m2", "m3"]
NO_QUORUM = {"failed": False, "leader_id": "0", "leader_name": "", "problems": ["the cluster has no leader"]}


def read(commit=None, error=""):
    if commit is None and not error:
        return {"wal": {"exists": False}}
    return {"wal": dict({"exists": True, "commit_index": commit}, **({"error": error} if error else {}))}


def test_the_highest_committed_index_survives_and_the_others_join_again():
    plan = etcd_recover_plan({"m1": read(40), "m2": read(42), "m3": read()}, NO_QUORUM, "c", "c", GROUP)
    assert plan["refusal"] == ""
    assert (plan["survivor"], plan["survivor_index"], plan["rejoin"], plan["unreachable"]) == ("m2", 42, ["m1", "m3"], [])
    assert plan["summary"].startswith("m2 keeps its data and the cluster ID (its log is committed up to raft index 42)")
    assert "The other logs: m1 at 40." in plan["summary"]
    assert "Writes committed after index 42 are lost if only m3 had them (unreachable or without data)." in plan["summary"]


def test_a_tie_goes_to_the_first_by_name_and_a_gone_host_is_left_out():
    plan = etcd_recover_plan({"m2": read(7), "m1": read(7)}, {"failed": True, "msg": "no endpoint answered"},
                             "c", "c", GROUP)
    assert plan["survivor"] == "m1" and plan["rejoin"] == ["m2"] and plan["unreachable"] == ["m3"]
    assert "Left out, unreachable: m3; replace them with playbooks/replace_member.yml" in plan["summary"]


def test_refused_while_a_leader_answers():
    healthy = {"failed": False, "leader_id": "12", "leader_name": "m1", "problems": []}
    plan = etcd_recover_plan({"m1": read(9), "m2": read(9), "m3": read(9)}, healthy, "c", "c", GROUP)
    assert plan["refusal"].startswith("Cluster c still has a quorum: member m1 leads it (healthy).")
    assert plan["survivor"] == ""


def test_refused_without_the_confirmation_describing_the_plan():
    plan = etcd_recover_plan({"m1": read(5), "m2": read()}, NO_QUORUM, "c", "", GROUP)
    assert plan["refusal"].startswith("recover.yml would change cluster c: m1 keeps its data")
    assert "-e etcd_recover_confirm=c (etcd_recover_confirm is '')" in plan["refusal"]
    assert plan["refusal"].endswith("Nothing was changed.")


def test_refused_without_any_data():
    plan = etcd_recover_plan({"m1": read(), "m2": read(error="bad record"), "m3": {"unreachable": True, "msg": "x"}},
                             NO_QUORUM, "c", "c", GROUP)
    assert plan["refusal"].startswith("No reachable member of cluster c has data to recover from (m1: no data (no WAL); "
                                      "m2: its WAL cannot be read: bad record; m3: x).")


def test_bad_input():
    with pytest.raises(AnsibleFilterError):
        etcd_recover_plan([], {}, "c", "c", GROUP)
