# -*- coding: utf-8 -*-
"""etcd_unseeded_plan: members without data next to a cluster with data (SAFETY-2, SAFETY-9, SAFETY-10)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_unseeded_plan import unseeded_plan


def host(name, member_name=None, ip=None):
    ip = ip or "10.0.0.%s" % name[-1]
    return {"etcd_cluster_member": {"name": member_name or name, "peer_url": "https://%s:2380" % ip}}


def live_member(ident, name, ip):
    return {"id": ident, "id_hex": "%x" % ident, "name": name, "peer_urls": ["https://%s:2380" % ip]}


LIVE = [live_member(0xa1, "n1", "10.0.0.1"), live_member(0xa2, "n2", "10.0.0.2"), live_member(0xa3, "n3", "10.0.0.3")]


def test_a_new_host_joins_and_grows_the_size():
    hostvars = {"n4": host("n4")}
    assert unseeded_plan(["n4"], hostvars, LIVE) == {"join": ["n4"], "lost": [], "clash": [], "size": 4}


def test_a_join_added_but_never_started_is_finished_without_growing_twice():
    # etcd lists an added, unstarted member with an empty name and its peer URL (SAFETY-10).
    live = LIVE + [dict(live_member(0xa4, "", "10.0.0.4"))]
    plan = unseeded_plan(["n4"], {"n4": host("n4")}, live)
    assert plan["join"] == ["n4"] and plan["size"] == 4


def test_a_started_member_whose_data_is_gone_is_lost():
    plan = unseeded_plan(["n2"], {"n2": host("n2")}, LIVE)
    assert plan["lost"] == [{"host": "n2", "name": "n2", "id": "a2"}] and plan["join"] == []
    assert plan["size"] == 3


def test_a_name_or_a_peer_url_of_another_member_clashes():
    hostvars = {"x": host("x", member_name="n1", ip="10.0.0.9"), "y": host("y", member_name="new", ip="10.0.0.3")}
    plan = unseeded_plan(["x", "y"], hostvars, LIVE)
    assert plan["clash"] == [
        "x: etcd_cluster_member_name n1 is already member a1 with peer URLs https://10.0.0.1:2380, not https://10.0.0.9:2380",
        "y: peer URL https://10.0.0.3:2380 belongs to member n3 (a3), not to new"]
    assert plan["join"] == [] and plan["size"] == 3


def test_a_host_without_its_record_or_no_live_list_is_an_error():
    with pytest.raises(AnsibleFilterError, match="host n9 has no etcd_cluster_member"):
        unseeded_plan(["n9"], {"n9": {}}, LIVE)
    with pytest.raises(AnsibleFilterError, match="live must be the live member list"):
        unseeded_plan(["n4"], {"n4": host("n4")}, None)
