# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: the quorum-loss recovery plan of playbooks/recover.yml (SAFETY-28)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_recover_plan
short_description: Decide whether and from which member a cluster that lost its quorum is recovered
version_added: "0.4.0"
description:
  - Takes what M(quorum.etcd.etcd_node_info) read on each reachable member (its WAL's committed raft index)
    and what M(quorum.etcd.etcd_status_info) saw, and returns the plan of C(playbooks/recover.yml), or the one
    sentence that refuses it (SAFETY-28).
  - Refused while any member answers with a leader (a quorum still serves; replace the failed members
    instead), when no reachable member has data (restore a snapshot instead), and without a confirmation
    equal to the cluster's name. The refusal for a missing confirmation describes the plan, so a first run
    without it is a dry run.
  - The survivor is the reachable member whose log has the highest committed index (the first by name on a
    tie); it keeps its data and the cluster ID and restarts alone; every other member is joined again with
    empty data. Writes committed after that index, known only to members that are gone or wiped, are lost.
options:
  _input:
    description: Reachable member name to its M(quorum.etcd.etcd_node_info) result with O(quorum.etcd.etcd_node_info#module:wal).
    type: dict
    required: true
  status:
    description: The M(quorum.etcd.etcd_status_info) result read from the reachable members (may have failed).
    type: dict
    required: true
  cluster:
    description: The cluster's name (C(etcd_cluster_name)).
    type: str
    required: true
  confirm:
    description: The confirmation given (C(etcd_recover_confirm)).
    type: str
    required: true
  group:
    description: Every member of the inventory group, reachable or not.
    type: list
    elements: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Decide the recovery
  ansible.builtin.set_fact:
    plan: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, '_read')))
         | quorum.etcd.etcd_recover_plan(_status, cluster=etcd_cluster_name, confirm=etcd_recover_confirm,
                                          group=groups['etcd']) }}
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    refusal:
      description: Why nothing may change; empty when the recovery goes ahead.
      type: str
    survivor:
      description: The member that keeps its data and restarts alone.
      type: str
    survivor_index:
      description: Its log's committed raft index.
      type: int
    rejoin:
      description: The reachable members that join again with empty data, in name order.
      type: list
      elements: str
    unreachable:
      description: Members of the group that did not answer; left out, to be replaced when they are back.
      type: list
      elements: str
    summary:
      description: What the recovery does and what it loses, in sentences.
      type: str
'''

from ansible.errors import AnsibleFilterError


def _index(read):
    """(has data, committed index or None, why not) of one member's read."""
    if not isinstance(read, dict) or read.get("failed") or read.get("unreachable"):
        return False, None, (read or {}).get("msg", "not read") if isinstance(read, dict) else "not read"
    wal = read.get("wal") or {}
    if not wal.get("exists"):
        return False, None, "no data (no WAL)"
    if wal.get("error"):
        return True, None, "its WAL cannot be read: %s" % wal["error"]
    return True, int(wal.get("commit_index") or 0), ""


def etcd_recover_plan(reads, status, cluster, confirm, group):
    if not isinstance(reads, dict) or not isinstance(status, dict):
        raise AnsibleFilterError("etcd_recover_plan expects a dict of member reads and a status result")
    plan = {"refusal": "", "survivor": "", "survivor_index": 0, "rejoin": [], "summary": "",
            "unreachable": sorted(h for h in group if h not in reads)}
    leader = str(status.get("leader_id") or "0")
    if not status.get("failed") and leader != "0":
        plan["refusal"] = (
            "Cluster %s still has a quorum: member %s leads it (%s). recover.yml only runs after a lost quorum; "
            "replace failed members with playbooks/replace_member.yml. Nothing was changed."
            % (cluster, status.get("leader_name") or leader, "; ".join(status.get("problems") or []) or "healthy"))
        return plan
    indexes, reasons, wiped = {}, [], []
    for host in sorted(reads):
        has_data, index, why = _index(reads[host])
        if index is not None:
            indexes[host] = index
        else:
            reasons.append("%s: %s" % (host, why))
            if not has_data:
                wiped.append(host)
    if not indexes:
        plan["refusal"] = (
            "No reachable member of cluster %s has data to recover from (%s). Restore a snapshot with "
            "playbooks/restore.yml instead. Nothing was changed." % (cluster, "; ".join(reasons) or "none answered"))
        return plan
    top = max(indexes.values())
    survivor = sorted(h for h, i in indexes.items() if i == top)[0]
    plan.update(survivor=survivor, survivor_index=top, rejoin=sorted(h for h in reads if h != survivor))
    others = ", ".join("%s at %d" % (h, indexes[h]) for h in sorted(indexes) if h != survivor)
    holders = plan["unreachable"] + wiped
    plan["summary"] = " ".join(part for part in (
        "%s keeps its data and the cluster ID (its log is committed up to raft index %d) and restarts as a "
        "one-member cluster;" % (survivor, top),
        ("%s then join again one at a time as learners, their old data kept aside." % ", ".join(plan["rejoin"]))
        if plan["rejoin"] else "no other member answered to join again.",
        ("The other logs: %s." % others) if others else "",
        ("Writes committed after index %d are lost if only %s had them (unreachable or without data)."
         % (top, ", ".join(holders))) if holders else "No member is left unread: nothing committed is lost.",
        ("Left out, unreachable: %s; replace them with playbooks/replace_member.yml when they are back."
         % ", ".join(plan["unreachable"])) if plan["unreachable"] else "",
        ("Unreadable: %s." % "; ".join(r for r in reasons if r.split(":")[0] not in wiped))
        if len(reasons) > len(wiped) else "") if part)
    if confirm != cluster:
        plan["refusal"] = (
            "recover.yml would change cluster %s: %s To go ahead, run again with -e etcd_recover_confirm=%s "
            "(etcd_recover_confirm is %r). Nothing was changed." % (cluster, plan["summary"], cluster, confirm))
    return plan


class FilterModule(object):
    def filters(self):
        return {"etcd_recover_plan": etcd_recover_plan}
