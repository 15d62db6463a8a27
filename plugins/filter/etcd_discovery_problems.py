# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: whether the DNS SRV records of etcd's DNS discovery name exactly the planned members."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_discovery_problems
short_description: Check that the DNS SRV records of etcd's DNS discovery name exactly the planned members
version_added: "0.4.0"
description:
  - With C(etcd_cluster_discovery=srv) a new cluster's members find each other through the SRV records of
    C(_etcd-server-ssl._tcp.<domain>) (C(_etcd-server-ssl-<name>._tcp.<domain>) with a service name). etcd takes
    every record as a member of the initial cluster, with the record's target as the host of its peer URL, and
    refuses to start when its own advertised peer URL is not among them.
  - Run before a bootstrap (SAFETY-1), this filter compares the records as each member's resolvers answer them
    (M(quorum.etcd.etcd_node_info), O(quorum.etcd.etcd_node_info#module:srv)) with the peer URLs of the planned
    members. They must be the same set, and every target must resolve; otherwise etcd would wait for a member
    that is not planned, leave one out, or fail on a member whose name does not resolve.
  - Returns one message that names the records, the members and what differs on which host, or an empty string.
options:
  _input:
    description: Host name to the RV(quorum.etcd.etcd_node_info#module:srv) result read on that host.
    type: dict
    required: true
  members:
    description: The planned member list of the whole group (C(etcd_cluster_members)), each with its C(peer_url).
    type: list
    elements: dict
    required: true
  domain:
    description: The discovery domain (C(etcd_cluster_discovery_srv)).
    type: str
    required: true
  service_name:
    description: The service name suffix (C(etcd_cluster_discovery_srv_name)); empty for none.
    type: str
    default: ""
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse a DNS discovery whose records do not name the planned members
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "{{ _problem }}"
  vars:
    _problem: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['node', 'srv'])))
         | quorum.etcd.etcd_discovery_problems(etcd_cluster_members, 'etcd.example.internal') }}
  run_once: true
'''

RETURN = r'''
_value:
  description: Why the records do not fit, naming the SRV name, the records, the members and the hosts; empty when
    they fit on every host.
  type: str
'''

from ansible.errors import AnsibleFilterError
from urllib.parse import urlsplit


def srv_name(domain, service_name=""):
    """The SRV name etcd asks for a TLS peer: _etcd-server-ssl[-name]._tcp.<domain>."""
    suffix = "-" + service_name if service_name else ""
    return "_etcd-server-ssl%s._tcp.%s" % (suffix, str(domain).rstrip("."))


def _endpoint(target, port):
    return "%s:%s" % (str(target).rstrip(".").lower(), port)


def _planned(members):
    wanted = {}
    for member in members:
        if not isinstance(member, dict) or not member.get("peer_url"):
            raise AnsibleFilterError("etcd_discovery_problems: members must be the planned member list, got %r"
                                     % (member,))
        url = urlsplit(str(member["peer_url"]))
        wanted[_endpoint(url.hostname or "", url.port)] = str(member.get("name", member.get("host", "")))
    return wanted


def _on_host(read, name, wanted):
    """What is wrong with the records as one host read them ('' when nothing)."""
    entry = (read or {}).get(name) if isinstance(read, dict) else None
    if not isinstance(entry, dict):
        return "was not asked for %s" % name
    if entry.get("error"):
        return "cannot look up %s: %s" % (name, entry["error"])
    records = entry.get("records") or []
    found = [_endpoint(r.get("target", ""), r.get("port")) for r in records]
    missing = sorted(set(wanted) - set(found))
    extra = sorted(set(found) - set(wanted))
    unresolved = sorted(_endpoint(r.get("target", ""), r.get("port")) for r in records if not r.get("addresses"))
    if found and not (missing or extra or unresolved):
        return ""
    parts = ["finds %s" % ", ".join(found) if found else "finds no record"]
    if missing:
        listed = ", ".join("%s (%s)" % (e, wanted[e]) for e in missing)
        parts.append("missing the member%s %s" % ("s" if len(missing) > 1 else "", listed))
    if extra:
        parts.append("with %s, not a planned member" % ", ".join(extra))
    if unresolved:
        parts.append("whose target%s %s resolve%s to no address there"
                     % ("s" if len(unresolved) > 1 else "", ", ".join(unresolved), "" if len(unresolved) > 1 else "s"))
    return ", ".join(parts)


def etcd_discovery_problems(reads, members, domain, service_name=""):
    if not isinstance(reads, dict):
        raise AnsibleFilterError("etcd_discovery_problems expects a dict of host to SRV read, got %s"
                                 % type(reads).__name__)
    name = srv_name(domain, service_name)
    wanted = _planned(members)
    by_problem = {}
    for host in sorted(reads):
        problem = _on_host(reads[host], name, wanted)
        if problem:
            by_problem.setdefault(problem, []).append(host)
    if not by_problem:
        return ""
    found = "; ".join("%s %s" % (", ".join(hosts), problem) for problem, hosts in sorted(by_problem.items()))
    return ("etcd_cluster_discovery=srv: a new cluster's members find each other through the DNS SRV records of %s, "
            "which must name exactly the peer URLs of the planned members (their etcd_cluster_address and "
            "etcd_cluster_peer_port): %s. But %s. Nothing was changed; fix the records (or the addresses) and run "
            "again." % (name, ", ".join(sorted(wanted)), found))


class FilterModule(object):
    def filters(self):
        return {"etcd_discovery_problems": etcd_discovery_problems}
