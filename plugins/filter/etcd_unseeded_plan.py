# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: sort the members without data, next to a cluster with data, into join, lost and clash."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_unseeded_plan
short_description: Sort the hosts without data next to a running cluster into new, lost and clashing members
version_added: "0.4.0"
description:
  - For each host of the group that has no data while others have (SAFETY-2, SAFETY-9, SAFETY-10), from the live
    member list read once from a member with data.
  - C(join) when its name is not in the live list, or it was added earlier but never started (a listed member
    with an empty name and its peer URL, an interrupted join, SAFETY-10).
  - C(lost) when a started member has its name and its peer URL; its data is gone, and it must be replaced
    (removed, then joined), never started as a new member (SAFETY-2).
  - C(clash) when its name or its peer URL belongs to another member.
options:
  _input:
    description: The hosts without data.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars); each host has C(etcd_cluster_member).
    type: raw
    required: true
  live:
    description: The live member list (C(members) of M(quorum.etcd.etcd_status_info)).
    type: list
    elements: dict
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Sort the members without data
  ansible.builtin.set_fact:
    membership: "{{ ['etcd-4'] | quorum.etcd.etcd_unseeded_plan(hostvars, live.members) }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: The hosts sorted, and the size the cluster will have.
  type: dict
  contains:
    join:
      description: Hosts that join, in the order given.
      type: list
      elements: str
    lost:
      description: Hosts whose member lost its data, each with C(host), C(name) and the member C(id) (hex).
      type: list
      elements: dict
    clash:
      description: One sentence per host whose name or peer URL belongs to another member.
      type: list
      elements: str
    size:
      description: Live members plus the joining hosts not listed yet.
      type: int
'''

from ansible.errors import AnsibleFilterError


def unseeded_plan(hosts, hostvars, live):
    if not isinstance(live, (list, tuple)):
        raise AnsibleFilterError("etcd_unseeded_plan: live must be the live member list, got %r" % (live,))
    join, lost, clash = [], [], []
    listed_urls = set(url for member in live for url in member.get("peer_urls") or [])
    for host in hosts:
        try:
            me = hostvars[host]["etcd_cluster_member"]
        except (KeyError, TypeError):
            raise AnsibleFilterError("etcd_unseeded_plan: host %s has no etcd_cluster_member" % host)
        by_name = [m for m in live if m.get("name") == me["name"]]
        by_url = [m for m in live if me["peer_url"] in (m.get("peer_urls") or [])]
        if by_name and by_url and by_name[0].get("id") == by_url[0].get("id"):
            lost.append({"host": host, "name": me["name"], "id": by_name[0].get("id_hex")})
        elif by_name:
            clash.append("%s: etcd_cluster_member_name %s is already member %s with peer URLs %s, not %s"
                         % (host, me["name"], by_name[0].get("id_hex"), ",".join(by_name[0].get("peer_urls") or []),
                            me["peer_url"]))
        elif by_url and by_url[0].get("name"):
            clash.append("%s: peer URL %s belongs to member %s (%s), not to %s"
                         % (host, me["peer_url"], by_url[0]["name"], by_url[0].get("id_hex"), me["name"]))
        else:
            join.append(host)
    new = [h for h in join if hostvars[h]["etcd_cluster_member"]["peer_url"] not in listed_urls]
    return {"join": join, "lost": lost, "clash": clash, "size": len(live) + len(new)}


class FilterModule(object):
    def filters(self):
        return {"etcd_unseeded_plan": unseeded_plan}
