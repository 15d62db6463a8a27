# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: why the chosen firewall cannot be used on a host, one sentence each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_firewall_problems
short_description: Name why the firewall the etcd_firewall role chose cannot be used on a host
version_added: "0.4.0"
description:
  - The etcd_firewall role's check of what its probe found on a host (SAFETY-20), before the rules are written.
  - No firewall found, nft missing and not to be installed, ufw not active, firewalld not running (the role
    never installs, enables or starts ufw or firewalld), and member addresses that do not resolve on the host.
options:
  _input:
    description: The backend chosen (C(nftables), C(firewalld), C(ufw), or C(unavailable) when none was found).
    type: str
    required: true
  state:
    description: What the probe found (keys C(firewalld), C(ufw), C(nft)).
    type: dict
    required: true
  manage_package:
    description: C(etcd_firewall_manage_package).
    type: bool
    default: false
  unresolved:
    description: Member addresses that do not resolve on the host.
    type: list
    elements: str
    default: []
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check that the chosen firewall can be used
  ansible.builtin.assert:
    that: _bad | length == 0
    fail_msg: "Host {{ inventory_hostname }}: {{ _bad | join(' ') }}"
  vars:
    _bad: "{{ 'ufw' | quorum.etcd.etcd_firewall_problems({'ufw': 'inactive'}) }}"
'''

RETURN = r'''
_value:
  description: One sentence per problem; empty when the firewall can be used.
  type: list
  elements: str
'''

from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import shown


def firewall_problems(backend, state, manage_package=False, unresolved=()):
    bad = []
    if backend == "unavailable":
        bad.append("etcd_firewall_backend=auto found no firewall: firewalld is not running, ufw is not active, nft is"
                   " missing and etcd_firewall_manage_package=false. Set etcd_firewall_backend (nftables, firewalld,"
                   " ufw or none) or etcd_firewall_manage_package=true.")
    elif backend == "nftables" and state.get("nft") != "present" and not manage_package:
        bad.append("etcd_firewall_backend=nftables but nft is not installed and etcd_firewall_manage_package=false.")
    elif backend == "ufw" and state.get("ufw") != "active":
        bad.append("etcd_firewall_backend=ufw but ufw is %s. This role never installs or enables ufw (enabling it can"
                   " lock you out): allow SSH, run `ufw enable` yourself, or choose another etcd_firewall_backend."
                   % state.get("ufw", "absent"))
    elif backend == "firewalld" and state.get("firewalld") != "running":
        bad.append("etcd_firewall_backend=firewalld but firewalld is %s. This role never installs or starts firewalld:"
                   " start it yourself or choose another etcd_firewall_backend." % state.get("firewalld", "absent"))
    if unresolved:
        bad.append("member addresses %s (etcd_cluster_address) do not resolve on this host, so they cannot be"
                   " allowed: use IP addresses or fix DNS." % shown(list(unresolved)))
    return bad


class FilterModule(object):
    def filters(self):
        return {"etcd_firewall_problems": firewall_problems}
