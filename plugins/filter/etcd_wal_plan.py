# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: which members would replay etcd 3.5's v2 requests under etcd 3.7, and what clears them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_wal_plan
short_description: Decide whether the members' WALs let them start etcd 3.7, and what would clear them
version_added: "0.3.0"
description:
  - etcd 3.5 wrote some requests (member attributes, the cluster version) in the format of its v2 store.
    etcd 3.6 still decodes them; etcd 3.7 does not, and a member that replays one at start stops with
    C(unmarshal should never fail). A member replays the entries after its newest raft snapshot, which
    etcd saves only every C(snapshot-count) entries, so a cluster that ran 3.5 keeps them for a while after
    its move to 3.6 (SAFETY-14).
  - Takes what M(quorum.etcd.etcd_node_info) read from each member's WAL and returns the members that
    still replay such requests, how many entries make every member save a snapshot past them
    (M(quorum.etcd.etcd_raft_snapshot)), and the refusal message for a move to 3.7 or later while any
    member does (empty when none does, or when the target is older than 3.7).
options:
  _input:
    description: The C(wal) result of M(quorum.etcd.etcd_node_info), by host name.
    type: dict
    required: true
  target:
    description: The release the members are to run (C(etcd_install_version)).
    type: str
    required: true
  configs:
    description:
      - The text of each member's etcd configuration file, by host name, for its C(snapshot-count).
      - Members without one (or without the key) count with O(snapshot_count).
    type: dict
    default: {}
  snapshot_count:
    description: The C(snapshot-count) of a member whose configuration does not say (etcd's default).
    type: int
    default: 10000
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse etcd 3.7 while a member would replay etcd 3.5's requests
  ansible.builtin.assert:
    that: _plan.refusal == ''
    fail_msg: "{{ _plan.refusal }}"
  vars:
    _plan: >-
      {{ {'etcd1': {'exists': true, 'snapshot_index': 0, 'v2_entries': 2, 'v2_first_index': 3, 'v2_last_index': 4}}
         | quorum.etcd.etcd_wal_plan('3.7.3') }}
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    hosts:
      description: The members that replay v2 requests, sorted.
      type: list
      elements: str
    entries:
      description: How many entries make every member save a raft snapshot (the largest C(snapshot-count) plus one).
      type: int
    refusal:
      description: Why the target is refused now; empty when it is not.
      type: str
'''

from ansible.errors import AnsibleFilterError

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None


def _minor(target):
    try:
        parts = tuple(int(p) for p in str(target).split("."))
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise AnsibleFilterError("etcd_wal_plan: target %r is not an X.Y.Z etcd version" % (target,))
    return parts[:2]


def _snapshot_count(text, default):
    if not text or not isinstance(text, str):
        return default
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        return default
    value = config.get("snapshot-count") if isinstance(config, dict) else None
    return int(value) if isinstance(value, int) and value > 0 else default


def etcd_wal_plan(wal, target, configs=None, snapshot_count=10000):
    if not isinstance(wal, dict):
        raise AnsibleFilterError("etcd_wal_plan expects a dict of host -> WAL result, got %s" % type(wal).__name__)
    configs = configs or {}
    errors = sorted("%s: %s" % (host, info["error"]) for host, info in wal.items()
                    if isinstance(info, dict) and info.get("error"))
    hosts = sorted(host for host, info in wal.items() if isinstance(info, dict) and info.get("v2_entries", 0) > 0)
    entries = max([_snapshot_count(configs.get(host), snapshot_count) for host in wal] or [snapshot_count]) + 1
    refusal = ""
    if _minor(target) >= (3, 7):
        head = "etcd_install_version=\"%s\" is refused (SAFETY-14): " % target
        if errors:
            refusal = "%swhat the members replay from their WAL at start could not be read (%s). No host was changed." % (
                head, "; ".join(errors))
        elif hosts:
            found = ", ".join("%s (entries %d-%d, after its raft snapshot at %d)"
                              % (host, wal[host].get("v2_first_index", 0), wal[host].get("v2_last_index", 0),
                                 wal[host].get("snapshot_index", 0)) for host in hosts)
            refusal = (head + "%s would replay requests etcd 3.5 wrote for its v2 store, which etcd 3.7 cannot decode: "
                       "the member would stop at start ('unmarshal should never fail'). playbooks/upgrade.yml first "
                       "makes every member save a raft snapshot past them (it writes %d entries to a scratch key, "
                       "one more than the largest snapshot-count); use it for this upgrade. No host was changed."
                       % (found, entries))
    return {"hosts": hosts, "entries": entries, "refusal": refusal}


class FilterModule(object):
    def filters(self):
        return {"etcd_wal_plan": etcd_wal_plan}
