# -*- coding: utf-8 -*-
"""etcd_discovery_problems: the SRV records of DNS discovery must name
exactly the planned members, as every member resolves them (SAFETY-1)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_discovery_problems import etcd_discovery_problems

NAME = "_etcd-server-ssl._tcp.etcd.lab"
MEMBERS = [{"host": h, "name": h, "peer_url": "https://%s.etcd.lab:2380" % h} for h in ("m1", "m2", "m3")]


def record(target, port=2380, addresses=("10.0.0.1",)):
    return {"target": target, "port": port, "priority": 0, "weight": 0, "addresses": list(addresses)}


def read(*records, error=None, name=NAME):
    return {name: {"records": list(records), "error": error}}


FULL = read(record("m1.etcd.lab"), record("m2.etcd.lab"), record("m3.etcd.lab"))


def test_records_naming_exactly_the_members_pass():
    assert etcd_discovery_problems({"m1": FULL, "m2": FULL, "m3": FULL}, MEMBERS, "etcd.lab") == ""


def test_a_missing_member_is_named_with_its_host_on_each_reader():
    short = read(record("m1.etcd.lab"), record("M2.etcd.lab."))
    msg = etcd_discovery_problems({"m1": short, "m2": short, "m3": FULL}, MEMBERS, "etcd.lab")
    assert msg.startswith("etcd_cluster_discovery=srv:") and NAME in msg
    assert "m1, m2 finds m1.etcd.lab:2380, m2.etcd.lab:2380, missing the member m3.etcd.lab:2380 (m3)" in msg
    assert "Nothing was changed" in msg


def test_a_record_of_no_planned_member_another_port_and_an_unresolved_target():
    odd = read(record("m1.etcd.lab"), record("m2.etcd.lab", port=2390), record("m3.etcd.lab", addresses=()),
               record("old.etcd.lab"))
    msg = etcd_discovery_problems({"m1": odd}, MEMBERS, "etcd.lab")
    assert "missing the member m2.etcd.lab:2380 (m2)" in msg
    assert "with m2.etcd.lab:2390, old.etcd.lab:2380, not a planned member" in msg
    assert "whose target m3.etcd.lab:2380 resolves to no address there" in msg


def test_a_failed_lookup_and_no_records_are_named():
    msg = etcd_discovery_problems({"m1": read(error="10.0.0.2: no such name (NXDOMAIN)"), "m2": read()},
                                  MEMBERS, "etcd.lab")
    assert "m1 cannot look up %s: 10.0.0.2: no such name (NXDOMAIN)" % NAME in msg
    assert "m2 finds no record" in msg


def test_the_service_name_and_a_trailing_dot_make_the_srv_name():
    name = "_etcd-server-ssl-blue._tcp.etcd.lab"
    reads = {"m1": read(record("m1.etcd.lab"), record("m2.etcd.lab"), record("m3.etcd.lab"), name=name)}
    assert etcd_discovery_problems(reads, MEMBERS, "etcd.lab.", "blue") == ""
    assert "was not asked for _etcd-server-ssl._tcp.etcd.lab" in etcd_discovery_problems(reads, MEMBERS, "etcd.lab")


def test_bad_input_is_an_error():
    with pytest.raises(AnsibleFilterError, match="dict of host"):
        etcd_discovery_problems([], MEMBERS, "etcd.lab")
    with pytest.raises(AnsibleFilterError, match="planned member list"):
        etcd_discovery_problems({}, [{"name": "m1"}], "etcd.lab")
