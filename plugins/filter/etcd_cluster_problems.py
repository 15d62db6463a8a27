# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: every bad member or cluster-wide setting of a run, one sentence each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_cluster_problems
short_description: Name every bad member setting and cluster-wide setting of the planned cluster
version_added: "0.4.0"
description:
  - The etcd_cluster role's one input check (SAFETY-9, SAFETY-19, SAFETY-20), run once per play before any host
    changes.
  - For each host of the play, its member name (letters, digits, C(.), C(_), C(-), at most 63 characters), its
    address, its client and peer ports (they must differ) and its membership of the inventory group.
  - For the planned member list of the whole group (C(etcd_cluster_members), members outside the play
    included), duplicate names and addresses and, unless allowed, an even size.
  - The authentication settings that need each other.
  - The discovery settings (C(static), or C(srv) with a domain); with C(srv), that every member's address is a DNS
    name (the targets of SRV records are names).
options:
  _input:
    description: The hosts of the play (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars); each host of the play has C(etcd_cluster_member).
    type: raw
    required: true
  members:
    description: The planned member list of the whole group (C(etcd_cluster_members)).
    type: list
    elements: dict
    required: true
  group:
    description: The inventory group's name (C(etcd_cluster_group)).
    type: str
    required: true
  group_hosts:
    description: The hosts of that group (C(groups[etcd_cluster_group])).
    type: list
    elements: str
    required: true
  client_port:
    description: The client port of a host whose inventory does not set C(etcd_cluster_client_port).
    type: raw
    required: true
  peer_port:
    description: The peer port of a host whose inventory does not set C(etcd_cluster_peer_port).
    type: raw
    required: true
  allow_even_size:
    description: C(etcd_cluster_allow_even_size).
    type: bool
    default: false
  check_size:
    description: Check the size at all (false in C(playbooks/remove_member.yml), which checks the size after the removal).
    type: bool
    default: true
  auth_enabled:
    description: C(etcd_cluster_auth_enabled).
    type: bool
    default: false
  root_password_set:
    description: Whether C(etcd_cluster_root_password) is set (the password itself is not passed).
    type: bool
    default: false
  token_ttl:
    description: C(etcd_cluster_auth_token_ttl), in seconds.
    type: raw
    default: 300
  discovery:
    description: C(etcd_cluster_discovery) (C(static) or C(srv)).
    type: str
    default: static
    version_added: "0.4.0"
  discovery_srv:
    description: C(etcd_cluster_discovery_srv), the domain of DNS discovery (a DNS name; needed with C(srv)).
    type: str
    default: ""
    version_added: "0.4.0"
  discovery_srv_name:
    description: C(etcd_cluster_discovery_srv_name) (letters, digits and C(-); may be empty).
    type: str
    default: ""
    version_added: "0.4.0"
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check the members and the cluster settings
  ansible.builtin.assert:
    that: _bad | length == 0
    fail_msg: "{{ _bad | join(' ') }}"
  vars:
    _bad: >-
      {{ ansible_play_hosts | quorum.etcd.etcd_cluster_problems(hostvars, etcd_cluster_members, 'etcd',
         groups['etcd'], 2379, 2380) }}
  run_once: true
'''

RETURN = r'''
_value:
  description: One sentence per problem, each naming the bad value; empty when every setting is good.
  type: list
  elements: str
'''

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import hostvar, shown

# etcd member names: what the role accepts (URL- and file-name safe).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# A DNS name of at least two labels (a discovery domain, a member's name).
DNS_NAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$")
SRV_SERVICE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,40}[A-Za-z0-9])?$")


def _duplicates(values):
    seen, dups = set(), []
    for value in values:
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


def _positive_int(value):
    try:
        return int(float(str(value))) > 0
    except ValueError:
        return False


def cluster_problems(play_hosts, hostvars, members, group, group_hosts, client_port, peer_port,
                     allow_even_size=False, check_size=True, auth_enabled=False, root_password_set=False,
                     token_ttl=300, discovery="static", discovery_srv="", discovery_srv_name=""):
    if not isinstance(members, (list, tuple)) or not all(isinstance(m, dict) for m in members):
        raise AnsibleFilterError("etcd_cluster_problems: members must be the planned member list, got %r" % (members,))
    bad = []
    for host in play_hosts:
        member = hostvar(hostvars, host, "etcd_cluster_member")
        if not isinstance(member, dict):
            raise AnsibleFilterError("etcd_cluster_problems: host %s of the play has no etcd_cluster_member" % host)
        name = str(member.get("name", ""))
        address = str(member.get("address") or "")
        # Role defaults are not in hostvars: a port set for one host is.
        c_port = hostvar(hostvars, host, "etcd_cluster_client_port", client_port)
        p_port = hostvar(hostvars, host, "etcd_cluster_peer_port", peer_port)
        if host not in group_hosts or not NAME.match(name) or not address or str(c_port) == str(p_port):
            bad.append("Host %s: invalid member settings: group %s (host must belong to it), etcd_cluster_member_name=%s"
                       " (letters, digits, '.', '_', '-'), etcd_cluster_address=%s, ports %s/%s (must differ)."
                       % (host, shown(group), shown(name), shown(address), c_port, p_port))
    dup_names = _duplicates([m.get("name") for m in members])
    if dup_names:
        bad.append("Group %s: Duplicate member names: %s." % (group, ", ".join(map(str, dup_names))))
    dup_addresses = _duplicates([m.get("address") for m in members])
    if dup_addresses:
        bad.append("Group %s: Duplicate member addresses: %s." % (group, ", ".join(map(str, dup_addresses))))
    if check_size and not allow_even_size and len(members) % 2 == 0:
        bad.append("Even cluster size %d in group %s (%s): an even size tolerates no more failures than one member"
                   " fewer (SAFETY-9); set etcd_cluster_allow_even_size=true to allow it."
                   % (len(members), group, ", ".join(str(m.get("host")) for m in members)))
    if auth_enabled and not root_password_set:
        bad.append("etcd_cluster_auth_enabled=true needs etcd_cluster_root_password (the password of etcd's root"
                   " user; keep it in Ansible Vault).")
    if not _positive_int(token_ttl):
        bad.append("etcd_cluster_auth_token_ttl=%s must be a positive number of seconds." % shown(token_ttl))
    bad.extend(_discovery_problems(members, discovery, discovery_srv, discovery_srv_name))
    return bad


def _dns_name(value):
    """A DNS name of two labels or more, not an IP address."""
    text = str(value or "")
    try:
        ipaddress.ip_address(text.strip("[]"))
        return False
    except ValueError:
        return bool(DNS_NAME.match(text))


def _discovery_problems(members, discovery, domain, service_name):
    if discovery not in ("static", "srv"):
        return ["etcd_cluster_discovery=%s must be static or srv." % shown(discovery)]
    if discovery != "srv":
        return []
    bad = []
    if not _dns_name(domain):
        bad.append("etcd_cluster_discovery=srv needs etcd_cluster_discovery_srv, the DNS domain of the SRV records"
                   " (a name such as etcd.example.internal); got %s." % shown(domain))
    if service_name and not SRV_SERVICE.match(str(service_name)):
        bad.append("etcd_cluster_discovery_srv_name=%s must be letters, digits and '-' (a suffix of the SRV service)."
                   % shown(service_name))
    by_ip = [str(m.get("host")) + " (" + str(m.get("address")) + ")" for m in members
             if not _dns_name(m.get("address"))]
    if by_ip:
        bad.append("etcd_cluster_discovery=srv: the targets of SRV records are DNS names, so each member's"
                   " etcd_cluster_address must be its name in DNS; not a DNS name: %s." % ", ".join(by_ip))
    return bad


class FilterModule(object):
    def filters(self):
        return {"etcd_cluster_problems": cluster_problems}
