# -*- coding: utf-8 -*-
"""etcd_firewall_problems: can the chosen firewall be used on this host (SAFETY-20)."""
from __future__ import annotations

import pytest
from ansible_collections.quorum.etcd.plugins.filter.etcd_firewall_problems import firewall_problems

READY = {"firewalld": "running", "ufw": "active", "nft": "present"}


@pytest.mark.parametrize("backend", ["nftables", "ufw", "firewalld"])
def test_a_ready_backend_passes(backend):
    assert firewall_problems(backend, READY) == []


def test_no_firewall_found_says_what_to_set():
    [problem] = firewall_problems("unavailable", {"firewalld": "absent", "ufw": "inactive", "nft": "absent"})
    assert problem.startswith("etcd_firewall_backend=auto found no firewall: ")
    assert "etcd_firewall_manage_package=true." in problem


def test_nft_missing_is_refused_unless_the_role_installs_it():
    state = dict(READY, nft="absent")
    assert firewall_problems("nftables", state) == [
        "etcd_firewall_backend=nftables but nft is not installed and etcd_firewall_manage_package=false."]
    assert firewall_problems("nftables", state, manage_package=True) == []


def test_ufw_and_firewalld_are_never_enabled_by_the_role():
    [ufw] = firewall_problems("ufw", dict(READY, ufw="inactive"))
    assert ufw.startswith("etcd_firewall_backend=ufw but ufw is inactive. This role never installs or enables ufw")
    [firewalld] = firewall_problems("firewalld", dict(READY, firewalld="stopped"))
    assert firewalld.startswith("etcd_firewall_backend=firewalld but firewalld is stopped.")
    assert firewall_problems("firewalld", {})[0].startswith("etcd_firewall_backend=firewalld but firewalld is absent.")


def test_unresolved_member_addresses_are_named_with_the_backend_problem():
    found = firewall_problems("ufw", dict(READY, ufw="inactive"), unresolved=["etcd-9.example"])
    assert len(found) == 2
    assert found[1] == ('member addresses ["etcd-9.example"] (etcd_cluster_address) do not resolve on this host, so '
                        "they cannot be allowed: use IP addresses or fix DNS.")
