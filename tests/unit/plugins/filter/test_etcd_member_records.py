# -*- coding: utf-8 -*-
"""plugins/filter/etcd_member_records.py: the member list is the whole group,
the members outside the play included (SAFETY-21, issue 15 item 5)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.etcd.plugins.filter.etcd_member_records import member_records


def own(host, address, name=None):
    return {"host": host, "name": name or host, "address": address,
            "client_url": "https://%s:2379" % address, "peer_url": "https://%s:2380" % address}


HOSTVARS = {
    "e1": {"etcd_cluster_member": own("e1", "10.0.0.1")},
    # outside the play, with network facts gathered from it
    "e2": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.2"}}, "ansible_host": "e2.lab"},
    # outside the play, address and ports from the inventory
    "e3": {"etcd_cluster_address": "fd00::3", "etcd_cluster_peer_port": 12380, "etcd_cluster_member_name": "db3"},
    # outside the play, unreachable: neither facts nor an address
    "e4": {"ansible_host": "e4.lab"},
}


def test_play_hosts_keep_their_own_record_and_outside_hosts_are_described():
    records = member_records(["e1", "e2", "e3"], HOSTVARS, ["e1"], 2379, 2380)
    assert [r["host"] for r in records] == ["e1", "e2", "e3"]
    assert records[0] == dict(own("e1", "10.0.0.1"), in_play=True, address_known=True)
    assert records[1] == {"host": "e2", "name": "e2", "address": "10.0.0.2", "client_url": "https://10.0.0.2:2379",
                          "peer_url": "https://10.0.0.2:2380", "in_play": False, "address_known": True}
    assert records[2]["name"] == "db3" and records[2]["address"] == "fd00::3"
    assert records[2]["peer_url"] == "https://[fd00::3]:12380" and records[2]["client_url"] == "https://[fd00::3]:2379"


def test_the_etcd_host_fact_is_preferred_to_gathered_network_facts():
    # etcd_node_info (host: true) read the address; gathered facts may be older.
    hostvars = {"e5": {"ansible_facts": {"etcd_host": {"default_ipv4": "10.0.0.5", "architecture": "x86_64"},
                                         "default_ipv4": {"address": "10.9.9.9"}}},
                "e6": {"ansible_facts": {"etcd_host": {"default_ipv4": None}}, "ansible_host": "e6.lab"}}
    e5, e6 = member_records(["e5", "e6"], hostvars, [], 2379, 2380)
    assert e5["address"] == "10.0.0.5" and e5["address_known"] is True
    # no default route on e6: not known, so the caller refuses rather than guess
    assert e6["address"] == "e6.lab" and e6["address_known"] is False


def test_an_outside_host_without_facts_or_address_is_flagged_not_guessed():
    (record,) = member_records(["e4"], HOSTVARS, ["e1"], 2379, 2380)
    assert record["address_known"] is False and record["address"] == "e4.lab"


def test_leaving_members_are_not_planned_in_or_outside_the_play():
    records = member_records(["e1", "e2", "e3", "e4"], HOSTVARS, ["e1"], 2379, 2380, leaving=["e1", "db3", "e4"])
    assert [r["host"] for r in records] == ["e2"]


def test_a_play_host_without_its_record_is_named():
    with pytest.raises(AnsibleFilterError, match="host e2 of the play has no etcd_cluster_member"):
        member_records(["e2"], HOSTVARS, ["e2"], 2379, 2380)


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="etcd_member_records"):
        member_records("e1", HOSTVARS, ["e1"], 2379, 2380)
