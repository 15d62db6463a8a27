# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: the planned member list of the whole inventory group, including the members outside the play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_member_records
short_description: The planned member of every host of the inventory group, in or outside the play
version_added: "0.3.0"
description:
  - Every host of the play describes itself (C(etcd_cluster_member), set by the etcd_cluster role from its own
    variables and facts). A host outside the play (C(--limit)) has no role defaults and no facts of its own in
    C(hostvars); its record is built here the way the role builds it, from its inventory variables and the
    default IPv4 address read from it read-only (SAFETY-21).
  - A member's address is C(etcd_cluster_address) when the inventory sets it, else the facts' default IPv4
    address, else C(ansible_host) (the role's default). A member outside the play with neither that setting nor
    facts is returned with RV(_value[].address_known) false, so the caller can refuse rather than guess.
options:
  _input:
    description: The hosts of the inventory group, in inventory order.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: raw
    required: true
  play_hosts:
    description: The hosts of the play (C(ansible_play_hosts_all)); each must have C(etcd_cluster_member).
    type: list
    elements: str
    required: true
  client_port:
    description: The client port of a member whose inventory does not set C(etcd_cluster_client_port).
    type: int
    required: true
  peer_port:
    description: The peer port of a member whose inventory does not set C(etcd_cluster_peer_port).
    type: int
    required: true
  leaving:
    description: Names of members being removed (C(playbooks/remove_member.yml)); their hosts are left out.
    type: list
    elements: str
    default: []
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Plan the member list from the whole group
  ansible.builtin.set_fact:
    etcd_cluster_members: >-
      {{ groups['etcd'] | quorum.etcd.etcd_member_records(hostvars, ansible_play_hosts_all, 2379, 2380) }}
  run_once: true
'''

RETURN = r'''
_value:
  description: One record per host, in the order given.
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host.
      type: str
    name:
      description: The member name.
      type: str
    address:
      description: The address the member listens on and is reached at.
      type: str
    client_url:
      description: The client URL.
      type: str
    peer_url:
      description: The peer URL.
      type: str
    in_play:
      description: The host is in the play.
      type: bool
    address_known:
      description: The address comes from the host's own record, its inventory or its facts.
      type: bool
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import hostvar


def _url_host(address):
    return "[%s]" % address if ":" in address else address


def member_records(hosts, hostvars, play_hosts, client_port, peer_port, leaving=None):
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleFilterError("etcd_member_records: the input must be the list of the group's hosts, got %r" % (hosts,))
    leaving = list(leaving or [])
    records = []
    for host in hosts:
        if host in play_hosts:
            own = hostvar(hostvars, host, "etcd_cluster_member")
            if not isinstance(own, dict):
                raise AnsibleFilterError("etcd_member_records: host %s of the play has no etcd_cluster_member" % host)
            record = dict(own)
            record.update(in_play=True, address_known=True)
            if record.get("name") not in leaving:
                records.append(record)
            continue
        address = hostvar(hostvars, host, "etcd_cluster_address")
        known = bool(address)
        if not address:
            facts = hostvar(hostvars, host, "ansible_facts", {}) or {}
            address = (facts.get("etcd_host") or {}).get("default_ipv4") or (facts.get("default_ipv4") or {}).get("address")
            known = bool(address)
        if not address:
            address = hostvar(hostvars, host, "ansible_host") or host
        address = str(address)
        c_port = hostvar(hostvars, host, "etcd_cluster_client_port", client_port)
        p_port = hostvar(hostvars, host, "etcd_cluster_peer_port", peer_port)
        name = str(hostvar(hostvars, host, "etcd_cluster_member_name", host))
        if name in leaving:
            continue
        records.append({
            "host": host,
            "name": name,
            "address": address,
            "client_url": "https://%s:%s" % (_url_host(address), c_port),
            "peer_url": "https://%s:%s" % (_url_host(address), p_port),
            "in_play": False,
            "address_known": known,
        })
    return records


class FilterModule(object):
    def filters(self):
        return {"etcd_member_records": member_records}
