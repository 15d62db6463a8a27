# -*- coding: utf-8 -*-
"""etcd_cluster_problems: the etcd_cluster role's one input check (SAFETY-9, SAFETY-19, SAFETY-20)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_cluster_problems import cluster_problems


def member(host, name=None, address=None):
    return {"host": host, "name": host if name is None else name, "address": address if address is not None else "10.0.0.%s" % host[-1]}


def plan(*members, **hostvars_extra):
    hostvars = {m["host"]: dict({"etcd_cluster_member": m}, **hostvars_extra.get(m["host"], {})) for m in members}
    return hostvars, list(members)


def problems(hostvars, members, play=None, group_hosts=None, **kw):
    play = play if play is not None else list(hostvars)
    group_hosts = group_hosts if group_hosts is not None else [m["host"] for m in members]
    return cluster_problems(play, hostvars, members, "etcd", group_hosts, 2379, 2380, **kw)


def test_three_good_members_pass():
    hostvars, members = plan(member("n1"), member("n2"), member("n3"))
    assert problems(hostvars, members) == []


def test_a_bad_name_names_the_host_and_the_value():
    hostvars, members = plan(member("n1", name="bad name!"), member("n2"), member("n3"))
    assert problems(hostvars, members) == [
        "Host n1: invalid member settings: group \"etcd\" (host must belong to it), "
        "etcd_cluster_member_name=\"bad name!\" (letters, digits, '.', '_', '-'), "
        "etcd_cluster_address=\"10.0.0.1\", ports 2379/2380 (must differ)."]


@pytest.mark.parametrize("name", ["-lead", "x" * 64, ""])
def test_names_etcd_cannot_use_are_refused(name):
    hostvars, members = plan(member("n1", name=name), member("n2"), member("n3"))
    [problem] = problems(hostvars, members)
    assert problem.startswith("Host n1: invalid member settings")


def test_equal_ports_set_for_one_host_are_refused_for_that_host_only():
    hostvars, members = plan(member("n1"), member("n2"), member("n3"), n2={"etcd_cluster_peer_port": "2379"})
    [problem] = problems(hostvars, members)
    assert problem.startswith("Host n2:") and "ports 2379/2379 (must differ)" in problem


def test_a_host_outside_the_group_and_an_empty_address_are_refused():
    hostvars, members = plan(member("n1"), member("n2", address=""), member("n3"))
    found = problems(hostvars, members, group_hosts=["n2", "n3"])
    assert [p.split(":")[0] for p in found] == ["Host n1", "Host n2"]
    assert 'etcd_cluster_address=""' in found[1]


def test_duplicate_names_and_addresses_of_the_whole_group_are_named():
    # n3 is outside the play (--limit) but in the plan: it still counts (SAFETY-21).
    hostvars, members = plan(member("n1", name="a"), member("n2", name="a", address="10.9.9.9"),
                             member("n3", address="10.9.9.9"))
    found = problems(hostvars, members, play=["n1", "n2"])
    assert found == ["Group etcd: Duplicate member names: a.", "Group etcd: Duplicate member addresses: 10.9.9.9."]


def test_even_size_is_refused_unless_allowed_or_not_checked():
    hostvars, members = plan(member("n1"), member("n2"), member("n3"), member("n4"))
    [problem] = problems(hostvars, members)
    assert problem.startswith("Even cluster size 4 in group etcd (n1, n2, n3, n4): ")
    assert "SAFETY-9" in problem and "etcd_cluster_allow_even_size=true" in problem
    assert problems(hostvars, members, allow_even_size=True) == []
    assert problems(hostvars, members, check_size=False) == []


def test_auth_without_root_password_and_a_bad_token_ttl_are_refused():
    hostvars, members = plan(member("n1"))
    found = problems(hostvars, members, auth_enabled=True, root_password_set=False, token_ttl="0")
    assert found == [
        "etcd_cluster_auth_enabled=true needs etcd_cluster_root_password (the password of etcd's root user; "
        "keep it in Ansible Vault).",
        'etcd_cluster_auth_token_ttl="0" must be a positive number of seconds.']
    assert problems(hostvars, members, auth_enabled=True, root_password_set=True, token_ttl=300) == []
    assert problems(hostvars, members, token_ttl="ten")[0].startswith('etcd_cluster_auth_token_ttl="ten"')


def test_every_problem_is_named_in_one_list():
    hostvars, members = plan(member("n1", name="a"), member("n2", name="a"), member("n3", name="bad/"),
                             member("n4"))
    found = problems(hostvars, members, auth_enabled=True)
    assert len(found) == 4  # n3's name, the duplicate, the even size, auth


def test_a_play_host_without_its_record_is_a_programming_error():
    with pytest.raises(AnsibleFilterError, match="n9 of the play has no etcd_cluster_member"):
        cluster_problems(["n9"], {"n9": {}}, [], "etcd", ["n9"], 2379, 2380)
    with pytest.raises(AnsibleFilterError, match="members must be the planned member list"):
        cluster_problems([], {}, "n1", "etcd", [], 2379, 2380)


def test_discovery_settings_are_checked():
    hostvars, members = plan(member("n1", address="n1.etcd.lab"), member("n2", address="n2.etcd.lab"),
                             member("n3", address="n3.etcd.lab"))
    assert problems(hostvars, members, discovery="srv", discovery_srv="etcd.lab") == []
    assert problems(hostvars, members, discovery="srv", discovery_srv="etcd.lab", discovery_srv_name="blue-2") == []
    assert problems(hostvars, members) == []
    assert problems(hostvars, members, discovery="dns") == ['etcd_cluster_discovery="dns" must be static or srv.']
    (msg,) = problems(hostvars, members, discovery="srv")
    assert msg.startswith("etcd_cluster_discovery=srv needs etcd_cluster_discovery_srv") and 'got ""' in msg
    (msg,) = problems(hostvars, members, discovery="srv", discovery_srv="etcd.lab", discovery_srv_name="a_b")
    assert 'etcd_cluster_discovery_srv_name="a_b"' in msg


def test_discovery_by_srv_needs_dns_names_as_addresses():
    hostvars, members = plan(member("n1", address="n1.etcd.lab"), member("n2"), member("n3", address="fd00::3"))
    (msg,) = problems(hostvars, members, discovery="srv", discovery_srv="etcd.lab")
    assert msg.endswith("not a DNS name: n2 (10.0.0.2), n3 (fd00::3).")
