# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: from the data every member of the group has, whether this run may found a cluster, and what it must refuse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_start_plan
short_description: Decide, from every member of the group, whether a run founds a new cluster or must refuse
version_added: "0.3.0"
description:
  - A new etcd cluster is founded only when no member of the inventory group has data; C(--limit) narrows
    which hosts a run changes, never which members it knows about (SAFETY-1, SAFETY-21).
  - Takes which hosts of the play have data, and what a read-only M(quorum.etcd.etcd_node_info) call found on
    each member of the group outside the play, and returns whether the run bootstraps, the hosts with data, and
    the refusal message when the run must not go on (empty when it may).
  - "It refuses: a first bootstrap while members of the group are outside the play (they would be left out of
    the new cluster, or found a second one later); a member without data in the play while members with data
    are outside it (it would join a cluster whose other members the run cannot admit it on, or it would be
    founded as a second cluster); and any decision that depends on a member outside the play that could not be
    read."
options:
  _input:
    description: For each host of the play, whether it has data (its C(member/wal) exists), by host name.
    type: dict
    required: true
  outside:
    description:
      - The loop results of the read of the members outside the play, one per host in C(item), each with the
        C(paths) result of M(quorum.etcd.etcd_node_info) for that member's C(member/wal) path (one path), or
        C(failed)/C(unreachable) and C(msg).
    type: list
    elements: dict
    default: []
  group:
    description: The name of the inventory group, for the messages.
    type: str
    default: etcd
  records:
    description:
      - For hosts of the play, the text of the member record each keeps outside its data directory
        (C(member-identity.json), written once the member served in a healthy cluster; empty or missing when
        there is none). The members outside the play have theirs in O(outside).
      - An empty data directory on a host with a record means the data is lost or not mounted, so the run never
        founds a new cluster over it unless O(confirm) is true (SAFETY-22).
    type: dict
    default: {}
  record_name:
    description: The file name of the member record, to find it among the paths of O(outside).
    type: str
    default: member-identity.json
  confirm:
    description:
      - The user named this cluster in C(etcd_service_confirm_new_cluster), so found a new, empty cluster even
        though members keep a record of an earlier one. RV(_value.forget) then lists the records to remove.
    type: bool
    default: false
  cluster:
    description: The cluster name (C(etcd_cluster_name)), for the messages.
    type: str
    default: etcd
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse what would split or leave out members of the group
  ansible.builtin.assert:
    that: _plan.refusal == ''
    fail_msg: "{{ _plan.refusal }}"
  vars:
    _plan: >-
      {{ {'etcd4': false} | quorum.etcd.etcd_start_plan(
           [{'item': 'etcd1', 'paths': {'/var/lib/etcd/member/wal': {'exists': true}}}], group='etcd') }}
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    bootstrap:
      description: No member of the group has data, and every one is in the play. The run founds a new cluster.
      type: bool
    seeded:
      description: The hosts of the play with data, in the order given.
      type: list
      elements: str
    seeded_outside:
      description: The members outside the play with data.
      type: list
      elements: str
    refusal:
      description: Why the run must stop before any change; empty when it may go on.
      type: str
    forget:
      description: Hosts of the play whose record of an earlier cluster is removed before this confirmed bootstrap.
      type: list
      elements: str
'''

import json

from ansible.errors import AnsibleFilterError


def _outside_state(result, record_name):
    """(host, True/False for data, or None when unread, why, record text)."""
    if not isinstance(result, dict) or not isinstance(result.get("item"), str):
        raise AnsibleFilterError("etcd_start_plan: each outside result needs the host name in 'item', got %r" % (result,))
    host = result["item"]
    paths = result.get("paths")
    wal = [info for path, info in (paths or {}).items() if path.endswith("/member/wal")] \
        if isinstance(paths, dict) else []
    if result.get("unreachable") or result.get("failed") or len(wal) != 1:
        return host, None, str(result.get("msg") or "no answer"), ""
    record = [info.get("content", "") for path, info in paths.items() if path.endswith("/" + record_name)]
    return host, bool(wal[0].get("exists")), "", (record or [""])[0]


def _describe(host, text):
    """One member record, for a message."""
    try:
        rec = json.loads(text)
    except ValueError:
        return "%s (a record that cannot be read)" % host
    if not isinstance(rec, dict):
        return "%s (a record that cannot be read)" % host
    return "%s (member %s of cluster %s, ID %s)" % (
        host, rec.get("member_id", "?"), rec.get("cluster", "?"), rec.get("cluster_id", "?"))


def _names(hosts):
    return ", ".join(hosts)


def start_plan(play, outside=None, group="etcd", records=None, record_name="member-identity.json", confirm=False,
               cluster="etcd"):
    if not isinstance(play, dict) or not play:
        raise AnsibleFilterError("etcd_start_plan: the input must map each host of the play to whether it has data")
    if not isinstance(outside, (list, type(None))):
        raise AnsibleFilterError("etcd_start_plan: outside must be a list of loop results, got %r" % (outside,))
    if not isinstance(records, (dict, type(None))):
        raise AnsibleFilterError("etcd_start_plan: records must map hosts to the text of their record, got %r" % (records,))
    seeded = [h for h, has in play.items() if has]
    unseeded = [h for h, has in play.items() if not has]
    states = [_outside_state(r, record_name) for r in outside or []]
    seeded_outside = [h for h, has, _why, _rec in states if has]
    unread = ["%s (%s)" % (h, why) for h, has, why, _rec in states if has is None]
    plan = {"bootstrap": False, "seeded": seeded, "seeded_outside": seeded_outside, "refusal": "", "forget": []}
    if not seeded and not seeded_outside:
        outside_hosts = [h for h, _has, _why, _rec in states]
        recorded = [(h, (records or {}).get(h) or "") for h in play] + [(h, rec) for h, _has, _why, rec in states]
        recorded = [(h, text) for h, text in recorded if text and text.strip()]
        if unread:
            plan["refusal"] = (
                "No member of group %s in this run has data, and %s outside the run (--limit) could not be read: "
                "whether a cluster already runs cannot be told, and founding one now could split it. Nothing was "
                "changed. Make %s answer, or run without --limit." % (group, _names(unread), _names(outside_hosts)))
        elif outside_hosts:
            plan["refusal"] = (
                "No member of group %s has data, so this run would found a new cluster, but %s %s outside the run "
                "(--limit): a cluster is founded by all its members at once, or the ones left out could found a "
                "second one later. Nothing was changed. Run without --limit." % (
                    group, _names(outside_hosts), "is" if len(outside_hosts) == 1 else "are"))
        elif recorded and not confirm:
            # SAFETY-22: these hosts served in a cluster; empty data on them
            # means lost (or not mounted), never new.
            plan["refusal"] = (
                "No member of group %s has data, but %s %s a record that %s of an etcd cluster, in %s "
                "outside the data directory: the data is lost, or not mounted (an unmounted volume looks the same). "
                "Founding a new cluster now would start it empty. Nothing was changed. Mount the data and run "
                "again, or rebuild the cluster from a snapshot with playbooks/restore.yml. To found a new, empty "
                "cluster anyway, set etcd_service_confirm_new_cluster=%s (SAFETY-22)." % (
                    group, ", ".join(_describe(h, text) for h, text in recorded),
                    "keeps" if len(recorded) == 1 else "keep", "it was a member" if len(recorded) == 1 else "they were members",
                    record_name, cluster))
        else:
            plan["bootstrap"] = True
            plan["forget"] = [h for h, _text in recorded if h in play]
        return plan
    if unseeded and (seeded_outside or unread):
        found = []
        if seeded_outside:
            found.append("%s %s data" % (_names(seeded_outside), "has" if len(seeded_outside) == 1 else "have"))
        if unread:
            found.append("%s could not be read" % _names(unread))
        plan["refusal"] = (
            "%s %s no data, and outside this run (--limit) %s. Joining %s now would add a member that the members "
            "outside the run do not admit through their firewalls, to a member list the run cannot fully check. "
            "Nothing was changed. Run without --limit, or include %s." % (
                _names(unseeded), "has" if len(unseeded) == 1 else "have", "; ".join(found),
                "it" if len(unseeded) == 1 else "them",
                _names(seeded_outside + [h for h, has, _why, _rec in states if has is None])))
    return plan


class FilterModule(object):
    def filters(self):
        return {"etcd_start_plan": start_plan}
