# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Defragmentation by need, decided the same way by the etcd_defrag module
(maintenance.yml) and by the scheduled maintenance the etcd_maintenance
role installs on the members (roles/etcd_maintenance/files/
etcd_maintenance_run.py, which gets a copy of this file): a member is
defragmented when the free part of its database file (size minus size in
use) is at least a share of the file and at least a number of MiB, one
member at a time, followers first and the leader last (SAFETY-12).

Standard library only; no Ansible import (the scheduled program runs it
with the member's Python)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MIB = 1024 * 1024


def free_share(size, in_use):
    """Free share (percent, one decimal) of a database file, or None when
    etcd does not say how much is in use (3.4)."""
    if in_use is None or not size or size <= 0:
        return None
    return round(100.0 * max(size - in_use, 0) / size, 1)


def wants_defrag(free, min_free_percent, force, free_bytes=None, min_free_mb=0):
    """The one decision: the free share and the free bytes (the waste) both
    at their thresholds, or force."""
    if force:
        return True
    if free is None or free < min_free_percent:
        return False
    return min_free_mb <= 0 or (free_bytes or 0) >= min_free_mb * MIB


def _status_of(statuses):
    """member ID -> its ``etcdctl endpoint status -w json`` Status, with the
    endpoint it answered on."""
    found = {}
    for entry in statuses:
        status = entry.get("Status") or {}
        member_id = (status.get("header") or {}).get("member_id")
        if member_id is not None:
            found[member_id] = dict(status, endpoint=entry.get("Endpoint", ""))
    return found


def scheduled_plan(members, statuses, alarms, min_free_percent, min_free_mb):
    """What one scheduled run does, from ``etcdctl member list``,
    ``endpoint status`` of every voter and ``alarm list`` (all ``-w json``),
    as every member computes it at the same time:

    - ``problem``: why nothing may be done now ('' when it may): a voter
      that did not answer or sees no leader, the voters not agreeing on one
      leader, a CORRUPT alarm;
    - ``coordinator``: the member that does this run's work for the whole
      cluster, the voter with the lowest member ID (every member asked at
      the same time names the same one, so one acts);
    - ``order``: the members to defragment, followers first and the leader
      last, each a dict (id, name, endpoint, size, in_use, free_percent);
      with a NOSPACE alarm every voter (bbolt shows the space a compaction
      freed as free only after writes, which NOSPACE refuses);
    - ``nospace``: whether a NOSPACE alarm is active."""
    voters = [m for m in members.get("members", []) if not m.get("isLearner")]
    names = dict((m.get("ID"), m.get("name") or str(m.get("ID"))) for m in voters)
    answered = _status_of(statuses)
    kinds = set(a.get("alarm") for a in (alarms or {}).get("alarms") or [])
    out = {"problem": "", "coordinator": None, "order": [], "nospace": "NOSPACE" in kinds, "leader": None}
    missing = [names[i] for i in sorted(names) if i not in answered or not answered[i].get("leader")]
    leaders = set(answered[i].get("leader") for i in names if i in answered)
    if not voters:
        out["problem"] = "no voting member is listed"
    elif missing:
        out["problem"] = "voters %s did not answer with a leader" % ", ".join(missing)
    elif len(leaders) != 1:
        out["problem"] = "the voters name different leaders (%s)" % ", ".join(sorted(map(str, leaders)))
    elif "CORRUPT" in kinds:
        out["problem"] = "a CORRUPT alarm is active: a member's data differs from the others' (replace it first)"
    if out["problem"]:
        return out
    leader = leaders.pop()
    out["leader"] = leader
    out["coordinator"] = sorted(names)[0]
    for member_id in sorted(names, key=lambda i: (i == leader, i)):
        status = answered[member_id]
        size, in_use = status.get("dbSize", 0), status.get("dbSizeInUse")
        free = free_share(size, in_use)
        waste = None if in_use is None else max(size - in_use, 0)
        if wants_defrag(free, min_free_percent, out["nospace"], free_bytes=waste, min_free_mb=min_free_mb):
            out["order"].append({"id": member_id, "name": names[member_id], "endpoint": status["endpoint"],
                                 "size": size, "in_use": in_use, "free_percent": free})
    return out
